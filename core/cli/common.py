"""Bits shared by command modules."""

from __future__ import annotations

from typing import Iterable

import click

overrides_argument = click.argument("overrides", nargs=-1, metavar="[KEY=VALUE]...")


def echo_warnings(warnings: Iterable[object]) -> None:
    for w in warnings:
        click.echo(f"warning: {w}", err=True)
