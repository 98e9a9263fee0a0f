"""``ftx data``: validate, inspect, convert and split training data."""

from __future__ import annotations

import click

from . import data_check, data_inspect, data_tokens


@click.group("data")
def data() -> None:
    """Validate, inspect, convert and split training data."""


for _module in (data_check, data_inspect, data_tokens):
    for _command in _module.COMMANDS:
        data.add_command(_command)

COMMANDS = [data]
