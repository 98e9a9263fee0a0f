"""``ftx generate``: answer prompts with a local run's fine-tuned model (or its base model)."""

from __future__ import annotations

import json

import click


def read_prompts(path: str) -> list:
    """Prompts from a JSONL file: each line a string, {"prompt": TEXT}, or {"messages": [...]}."""
    from ftx.errors import FtxError
    from ftx.example import Message

    out: list = []
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError as exc:
        raise FtxError(f"cannot read {path}: {exc.strerror}") from exc
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise FtxError(f"not JSON: {exc}", file=path, line=n) from exc
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict) and isinstance(value.get("prompt"), str):
            out.append(value["prompt"])
        elif isinstance(value, dict) and isinstance(value.get("messages"), list):
            turns = [Message(m.get("role", "user"), m.get("content")) for m in value["messages"]
                     if isinstance(m, dict)]
            out.append([m for m in turns if m.role != "assistant"] or turns)
        else:
            raise FtxError('expected a string, {"prompt": TEXT} or {"messages": [...]}', file=path, line=n)
    if not out:
        raise FtxError(f"{path} holds no prompts")
    return out


@click.command("generate")
@click.argument("run_or_path")
@click.option("--prompt", "-p", "prompts", multiple=True, help="a prompt (a user turn for chat models); repeatable")
@click.option("--file", "-f", "prompt_file", type=click.Path(dir_okay=False),
              help='JSONL of prompts: a string, {"prompt": TEXT} or {"messages": [...]} per line')
@click.option("--base", is_flag=True, help="answer with the base model instead of the fine-tuned one")
@click.option("--max-new-tokens", type=click.IntRange(min=1), default=64, show_default=True,
              help="at most this many tokens in the answer")
@click.option("--batch-size", type=click.IntRange(min=1), default=16, show_default=True,
              help="prompts answered per forward pass")
def generate(run_or_path: str, prompts: tuple[str, ...], prompt_file: str | None, base: bool, max_new_tokens: int,
             batch_size: int) -> None:
    """Answer prompts greedily with a run's model, loaded once and batched.

    RUN_OR_PATH is a run id (or a unique prefix), a run folder, an adapter or model folder, or,
    with --base, a model name such as ftx/tiny-llama. One --prompt prints its answer; several
    prompts (or --file) print one JSON line per prompt: {"prompt": ..., "answer": ...}.
    """
    from ftx.errors import FtxError

    from ..generate import generate_answers

    asked: list = list(prompts) + (read_prompts(prompt_file) if prompt_file else [])
    if not asked:
        raise FtxError("give a prompt: --prompt TEXT (repeatable) or --file prompts.jsonl")
    answers = generate_answers(run_or_path, asked, base=base, max_new_tokens=max_new_tokens, batch_size=batch_size)
    if len(asked) == 1 and not prompt_file:
        click.echo(answers[0])
        return
    for p, a in zip(asked, answers):
        shown = p if isinstance(p, str) else [{"role": m.role, "content": m.content} for m in p]
        click.echo(json.dumps({"prompt": shown, "answer": a}, ensure_ascii=False))


COMMANDS = [generate]
