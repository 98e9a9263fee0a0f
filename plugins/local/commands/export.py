"""``ftx export``: turn a local run's adapter into a standalone model (``--merge``)."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("export")
@click.argument("run")
@click.option("--merge", is_flag=True, help="merge the adapter (LoRA, DoRA, QLoRA, IA3) into the base model")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="folder for the merged model  [default: <run folder>/merged]")
@click.option("--dtype", type=click.Choice(["auto", "float32", "bfloat16", "float16"]), default="auto",
              show_default=True, help="precision of the saved weights (auto: what the run trained its base in)")
@click.option("--tolerance", type=click.FloatRange(min=0), default=None, metavar="FLOAT",
              help="allowed max |delta logits| between merged and adapter model  "
                   "[default: 1e-4 x logit scale in float32, looser in 16-bit]")
@click.option("--force", is_flag=True, help="replace an existing export folder")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
def export(run: str, merge: bool, out: Path | None, dtype: str, tolerance: float | None, force: bool,
           as_json: bool) -> None:
    """Export RUN's fine-tuned model: a run id (or unique prefix) or a run folder.

    With --merge the adapter is folded into the base model and saved (safetensors, with the
    tokenizer); the merged model must give the adapter model's logits on the run's validation
    prompts, or nothing is written.
    """
    if not merge:
        raise click.UsageError("say what to export: --merge (fold the adapter into the base model)")
    from ..export import export_merged

    echo = (lambda _: None) if as_json else click.echo
    result = export_merged(run, out, dtype=dtype, force=force, tolerance=tolerance, echo=echo)
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(f'try: ftx generate {result["path"]} --prompt "..."')


COMMANDS = [export]
