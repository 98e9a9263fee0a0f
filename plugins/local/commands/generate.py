"""``ftx generate``: answer a prompt with a local run's fine-tuned model (or its base model)."""

from __future__ import annotations

import click


@click.command("generate")
@click.argument("run_or_path")
@click.option("--prompt", "-p", required=True, help="the prompt (a user turn for chat models)")
@click.option("--base", is_flag=True, help="answer with the base model instead of the fine-tuned one")
@click.option("--max-new-tokens", type=click.IntRange(min=1), default=64, show_default=True,
              help="at most this many tokens in the answer")
def generate(run_or_path: str, prompt: str, base: bool, max_new_tokens: int) -> None:
    """Answer PROMPT greedily with a run's model.

    RUN_OR_PATH is a run id (or a unique prefix), a run folder, an adapter or model folder, or,
    with --base, a model name such as ftx/tiny-llama.
    """
    from ..generate import generate_answer

    click.echo(generate_answer(run_or_path, prompt, base=base, max_new_tokens=max_new_tokens))


COMMANDS = [generate]
