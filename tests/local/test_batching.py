"""Batching: length-grouped by default (the same examples once per epoch, the same loss per example
as padded random batches, seeded, the same permutation on every process), padding-free where a
check on the model proves each example keeps its padded loss (refused in one line elsewhere), and
a dry run that states the batching with the padding it expects."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from ftx.plugins.local.batching import grouped_order, padding_share, random_order


def _recipe(tmp_path, rows, extra: str = "", hp: str = ""):
    from ftx.recipe import load_recipe

    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    path = tmp_path / "r.yaml"
    path.write_text(f"name: b\nmodel: {{local: ftx/tiny-llama}}\ndata: {{train: {data}}}\n"
                    f"hyperparameters: {{batch_size: 4, max_length: 256, seed: 3{hp}}}\n{extra}")
    return load_recipe(path, backend="local")


def _rows(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa".split()
    return [{"messages": [{"role": "user", "content": " ".join(rng.choices(words, k=rng.randint(2, 8))) + "?"},
                          {"role": "assistant", "content": " ".join(rng.choices(words, k=rng.choice([2, 5, 40, 120])))}]}
            for _ in range(n)]


def test_grouped_order_is_a_seeded_permutation_with_less_padding():
    rng = random.Random(1)
    lengths = [rng.choice([10, 30, 200, 600]) for _ in range(500)]
    order = grouped_order(lengths, 8, seed=5)
    assert sorted(order) == list(range(500))  # every example exactly once
    assert order == grouped_order(lengths, 8, seed=5) and order != grouped_order(lengths, 8, seed=6)
    assert padding_share(lengths, order, 8) < 0.5 * padding_share(lengths, random_order(500, 5), 8)


def test_sft_batches_are_length_grouped_by_default_and_random_on_request(tmp_path, write):
    from ftx.plugins.local.batching import effective_mode, trainer_args
    from ftx.plugins.local.config import sft_config
    from ftx.plugins.local.device import DevicePlan
    from ftx.recipe import load_recipe

    write("t.jsonl", "")
    write("d.yaml", "name: d\nmodel: {local: m}\ndata: {train: t.jsonl}\n")
    default = load_recipe(tmp_path / "d.yaml", backend="local")
    assert effective_mode(default) == "grouped"
    cpu = DevicePlan("cpu", "float32", bf16=False, fp16=False, gradient_checkpointing=False)
    config = sft_config(default, cpu, str(tmp_path / "o"), 40, False, "assistant-only")
    assert config.train_sampling_strategy == "group_by_length" and config.ftx_batching == "grouped"
    assert not config.padding_free

    assert trainer_args(_recipe(tmp_path, _rows(4))) == {"train_sampling_strategy": "group_by_length"}
    assert trainer_args(_recipe(tmp_path, _rows(4), "backends: {local: {batching: random}}\n")) == {}
    assert trainer_args(_recipe(tmp_path, _rows(4), hp=", packing: true")) == {}
    assert effective_mode(_recipe(tmp_path, _rows(4), hp=", packing: true")) == "packed"
    free = _recipe(tmp_path, _rows(4), "backends: {local: {batching: padding_free}}\n")
    assert effective_mode(free) == "padding_free" and trainer_args(free) == {"include_num_input_tokens_seen": "all"}
    # TRL's padding-free flag stays off (it would refuse max_length): the collator is switched later.
    config = sft_config(free, cpu, str(tmp_path / "o"), 40, False, "assistant-only")
    assert not config.padding_free and config.max_length == 256 and config.ftx_batching == "padding_free"
    write("p.jsonl", "")
    write("dpo.yaml", "name: d\nmodel: {local: m}\nobjective: dpo\ndata: {train: p.jsonl}\n")
    assert effective_mode(load_recipe(tmp_path / "dpo.yaml", backend="local")) == "random"  # pairs


def test_the_permutation_is_seeded_and_the_same_for_every_process():
    """Every process draws the whole permutation from the seed and the epoch (not torch's global
    random state) and accelerate deals it out by batches: the shards of two processes are
    disjoint, cover the epoch, and each optimizer step trains what one process with the same
    effective batch trains."""
    import torch
    from accelerate.data_loader import BatchSamplerShard
    from torch.utils.data import BatchSampler

    from ftx.plugins.local.batching import seeded_sampler

    class Args:
        seed, gradient_accumulation_steps = 7, 1

        def __init__(self, batch, world):
            self.train_batch_size, self.world_size = batch, world

    class Trainer:
        def __init__(self, batch, world):
            self.args = Args(batch, world)
            rng = random.Random(2)
            self.train_dataset = {"input_ids": [[0] * rng.choice([5, 40, 300]) for _ in range(96)]}

    single = seeded_sampler(Trainer(8, 1))
    one = list(single)
    shards = []
    for rank in range(2):
        torch.manual_seed(rank)  # each process's global random state differs; the order must not
        sampler = seeded_sampler(Trainer(4, 2))
        shards.append([b for b in BatchSamplerShard(BatchSampler(sampler, 4, False), 2, rank)])
    flat = [i for pair in zip(*shards) for batch in pair for i in batch]
    assert sorted(flat) == list(range(96)) and not set(map(tuple, shards[0])) & set(map(tuple, shards[1]))
    steps = [sorted(shards[0][k] + shards[1][k]) for k in range(len(shards[0]))]
    assert steps == [sorted(one[k * 8:(k + 1) * 8]) for k in range(12)]
    single.set_epoch(1)
    assert list(single) != one and sorted(single) == sorted(one)


def test_a_mix_sampled_afresh_each_epoch_groups_each_epoch_block():
    from ftx.plugins.local.batching import grouped_block_order
    from ftx.plugins.local.epochs import EpochBlocks

    class Args:
        seed, gradient_accumulation_steps, train_batch_size, world_size = 1, 1, 4, 1
        train_sampling_strategy = "group_by_length"

    class Trainer:
        args = Args()
        train_dataset = {"input_ids": [[0] * random.Random(i).choice([4, 60, 400]) for i in range(160)]}

    lengths = [len(x) for x in Trainer.train_dataset["input_ids"]]
    blocks = EpochBlocks([0, 80], [80, 80], seed=1, order=grouped_block_order(Trainer()))
    for epoch, block in ((0, range(80)), (1, range(80, 160))):
        order = blocks.indices(epoch)
        assert sorted(order) == list(block)  # each epoch's block, every row once
        shuffled = EpochBlocks([0, 80], [80, 80], seed=1).indices(epoch)
        assert padding_share(lengths, order, 4) < padding_share(lengths, shuffled, 4)
    Args.train_sampling_strategy = "random"
    assert grouped_block_order(Trainer()) is None


def test_padding_free_is_refused_where_it_cannot_be_proven(cli, write, tmp_path):
    rows = _rows(8)
    write("t.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    pairs = [{"prompt": [r["messages"][0]], "chosen": [r["messages"][1]],
              "rejected": [{"role": "assistant", "content": "no"}]} for r in rows]
    write("p.jsonl", "".join(json.dumps(r) + "\n" for r in pairs))
    cases = {
        "dpo": ("objective: dpo\ndata: {train: p.jsonl}\n", "padding_free is proven for sft only: dpo examples"),
        "packing": ("data: {train: t.jsonl}\nhyperparameters: {packing: true}\n",
                    "padding_free and hyperparameters.packing both flatten batches"),
        "prefix": ("data: {train: t.jsonl}\nmethod: {name: prefix}\n", "padding_free cannot train prefix tuning"),
    }
    for name, (body, message) in cases.items():
        path = write(f"{name}.yaml", f"name: {name}\nmodel: {{local: ftx/tiny-llama}}\n{body}"
                                     "backends:\n  local:\n    batching: padding_free\n")
        line = path.read_text().splitlines().index("    batching: padding_free") + 1
        result = cli("run", path, "--backend", "local", "--dry-run")
        assert result.exit_code == 2, (name, result.stdout)
        (error,) = result.stderr.strip().splitlines()
        assert error.startswith(f"error: {path}:{line}: backends.local.batching: {message}"), error


def test_the_dry_run_names_the_batching_and_its_padding(tmp_path):
    import re

    from ftx.plugins.local.backend import LocalBackend

    recipe = _recipe(tmp_path, _rows(200))  # the default
    plan = LocalBackend().plan(recipe, {"train_examples": 200})
    assert plan["batching"].startswith("length-grouped (the default")
    grouped, random_share = map(int, re.findall(r"(\d+)%", plan["padding expected"]))
    assert grouped < random_share
    plain = LocalBackend().plan(_recipe(tmp_path, _rows(200), "backends: {local: {batching: random}}\n"), {})
    assert plain["batching"].startswith("random") and plain["padding expected"].startswith(f"{random_share}%")
    free = LocalBackend().plan(_recipe(tmp_path, _rows(200), "backends: {local: {batching: padding_free}}\n"), {})
    assert free["batching"].startswith("padding-free")
    assert free["padding expected"].startswith(f"0% of batch tokens (padded random order: {random_share}%")


def test_a_refusal_while_the_trainer_is_built_names_the_recipe_line(tmp_path):
    from ftx.errors import BackendError
    from ftx.plugins.local.batching import FIELD, located

    recipe = _recipe(tmp_path, _rows(4), "backends:\n  local:\n    batching: padding_free\n")
    with pytest.raises(BackendError) as refused, located(recipe):
        raise BackendError("padding_free is not proven with x attention", field=FIELD)
    assert refused.value.lines() == [f"{tmp_path / 'r.yaml'}:7: backends.local.batching: "
                                     "padding_free is not proven with x attention"]


def _trainer(tiny_model, tmp_path, rows, extra=""):
    from ftx.data.load import iter_examples
    from ftx.plugins.local.config import sft_config
    from ftx.plugins.local.device import plan_device
    from ftx.plugins.local.models import load_model, load_tokenizer
    from ftx.plugins.local.trainer import build_trainer
    from ftx.plugins.local.trl_data import build_datasets
    from ftx.plugins.methods.catalog import Lora

    recipe = _recipe(tmp_path, rows, extra)
    tok = load_tokenizer(str(tiny_model))
    data = build_datasets(list(iter_examples(recipe.data_path(recipe.recipe.data.train))), [], "sft", tok)
    args = sft_config(recipe, plan_device("cpu", Lora()), str(tmp_path / "ck"), len(data.train), False, data.loss)
    model = load_model(str(tiny_model), "float32", "cpu")
    return build_trainer("sft", model, tok, data, args, []), model


def _padded_losses(trainer, model, rows, order):
    """Each example's (summed token loss, tokens) in padded batches of 4 taken in ``order``."""
    import torch
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    collate = DataCollatorForLanguageModeling(pad_token_id=trainer.data_collator.pad_token_id)  # padded
    out = {}
    model.eval()
    for start in range(0, len(order), 4):
        ids = order[start:start + 4]
        batch = collate([rows[i] for i in ids])
        with torch.no_grad():
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        labels = batch["labels"][:, 1:]
        per_token = torch.nn.functional.cross_entropy(
            logits[:, :-1].transpose(1, 2), labels, ignore_index=-100, reduction="none")
        mask = labels != -100
        for row, i in enumerate(ids):
            out[i] = (per_token[row][mask[row]].sum().item(), int(mask[row].sum()))
    return out


@pytest.mark.slow
def test_grouped_batches_train_every_example_once_with_the_same_per_example_loss(tiny_model, tmp_path):
    """The sampler the trainer's *dataloader* really uses (the one a resume skips batches of) is
    the seeded permutation, and each example's loss in a length-grouped padded batch equals its
    loss in a random padded batch (padding is masked out)."""
    import torch

    from ftx.plugins.local.batching import seeded_sampler

    trainer, model = _trainer(tiny_model, tmp_path, _rows(48))
    n = len(trainer.train_dataset)
    orders = []
    for seed in range(2):
        torch.manual_seed(seed)  # the global random state does not matter: resumes replay the order
        loader = trainer.get_train_dataloader()
        sampler = loader.batch_sampler.sampler
        assert type(sampler).__name__ == "EpochSeededLengthGroupedSampler"
        orders.append([i for batch in loader.batch_sampler for i in batch])
    assert orders[0] == orders[1] == list(seeded_sampler(trainer)) and sorted(orders[0]) == list(range(n))
    sampler.set_epoch(1)
    assert list(sampler) != orders[0] and sorted(sampler) == sorted(orders[0])  # a new order each epoch
    assert type(trainer._get_eval_sampler(trainer.train_dataset)).__name__ == "SequentialSampler"
    rows = [trainer.train_dataset[i] for i in range(n)]
    lengths = [len(r["input_ids"]) for r in rows]
    assert padding_share(lengths, orders[0], 4) < padding_share(lengths, range(len(rows)), 4)

    grouped, shuffled = _padded_losses(trainer, model, rows, orders[0]), _padded_losses(
        trainer, model, rows, random_order(len(rows), 0))
    assert grouped.keys() == shuffled.keys()
    for i in grouped:
        assert grouped[i][1] == shuffled[i][1]
        assert grouped[i][0] == pytest.approx(shuffled[i][0], rel=1e-5, abs=1e-4)


@pytest.mark.slow
def test_padding_free_batches_give_every_example_its_padded_loss(tiny_model, tmp_path):
    """On this stack's attention (sdpa), each example's loss in a flattened row with restarting
    position ids equals its padded loss, over the whole training set; the same rows flattened
    without position ids do not (examples then attend to each other): the check can tell."""
    import torch

    from ftx.plugins.local.batching import prove_padding_free

    trainer, model = _trainer(tiny_model, tmp_path, _rows(48), "backends: {local: {batching: padding_free}}\n")
    assert trainer.data_collator.padding_free and trainer.args.max_length == 256
    proof = trainer.ftx_padding_free_proof
    assert proof["attention"] == "sdpa" and proof["max_relative_diff"] < 1e-4 and proof["boundary_diff"] < 1e-5
    rows = [trainer.train_dataset[i] for i in range(len(trainer.train_dataset))]
    padded = _padded_losses(trainer, model, rows, list(range(len(rows))))
    flat, contaminated = {}, {}
    model.eval()
    for start in range(0, len(rows), 4):
        ids = list(range(start, min(start + 4, len(rows))))
        batch = trainer.data_collator([rows[i] for i in ids])
        assert "attention_mask" not in batch and batch["input_ids"].shape[0] == 1  # one row, no padding
        assert batch["input_ids"].shape[1] == sum(len(rows[i]["input_ids"]) for i in ids)
        for key, target, extra in (("pos", flat, {"position_ids": batch["position_ids"]}), ("none", contaminated, {})):
            with torch.no_grad():
                logits = model(input_ids=batch["input_ids"], **extra).logits
            labels = batch["labels"][:, 1:]
            per_token = torch.nn.functional.cross_entropy(logits[:, :-1].transpose(1, 2), labels,
                                                          ignore_index=-100, reduction="none")[0]
            at = 0
            for i in ids:
                width = len(rows[i]["input_ids"])
                target[i] = per_token[at:at + width - 1].sum().item()
                at += width
    for i in padded:
        assert flat[i] == pytest.approx(padded[i][0], rel=1e-5, abs=1e-4), i
    total = sum(v[0] for v in padded.values())
    assert sum(flat.values()) == pytest.approx(total, rel=1e-6)
    assert abs(sum(contaminated.values()) - total) > 1e-3 * total  # without boundaries the losses move

    # An attention that ignores the boundaries (plain causal attention over the whole row) is refused.
    from transformers import AttentionInterface

    def whole_row_causal(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
        key = key.repeat_interleave(query.shape[1] // key.shape[1], dim=1)
        value = value.repeat_interleave(query.shape[1] // value.shape[1], dim=1)
        out = torch.nn.functional.scaled_dot_product_attention(query, key, value, is_causal=True, scale=scaling)
        return out.transpose(1, 2).contiguous(), None

    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    from ftx.errors import BackendError

    AttentionInterface.register("ftx_test_whole_row", whole_row_causal)
    AttentionMaskInterface.register("ftx_test_whole_row", sdpa_mask)
    try:
        model.config._attn_implementation = "ftx_test_whole_row"
        with pytest.raises(BackendError) as refused:
            prove_padding_free(trainer)
    finally:
        model.config._attn_implementation = "sdpa"
        AttentionInterface._global_mapping.pop("ftx_test_whole_row", None)
        AttentionMaskInterface._global_mapping.pop("ftx_test_whole_row", None)
    (problem,) = refused.value.problems
    assert problem.field == "backends.local.batching"
    assert problem.message.startswith("padding_free is not proven with ftx_test_whole_row attention on this model: "
                                      "example "), problem.message


@pytest.mark.slow
def test_a_padding_free_run_trains_what_a_padded_run_trains(tiny_model, tmp_path):
    """End to end, without dropout (whose masks are drawn over the batch tensor's shape): a
    padding-free run logs the losses and gradient norms of the padded run in the same order."""
    from ftx.plugins.local.train import run_local

    rows = _rows(24)
    runs = {}
    for mode in ("random", "padding_free"):
        folder = tmp_path / mode
        folder.mkdir()
        recipe = _recipe(folder, rows, f"method: {{name: lora, dropout: 0}}\neval: {{samples: []}}\n"
                                       f"backends: {{local: {{batching: {mode}}}}}\n", hp=", max_steps: 6")
        summary = run_local(recipe, None, echo=lambda _: None, progress=False)
        assert summary["batching"]["mode"] == mode
        runs[mode] = [json.loads(line) for line in (Path(summary["run_dir"]) / "metrics.jsonl").read_text().splitlines()]
        runs[mode + "_summary"] = summary
    assert runs["padding_free_summary"]["batching"]["padding_free_proof"]["attention"] == "sdpa"
    assert runs["padding_free_summary"]["tokens_seen"] == runs["random_summary"]["tokens_seen"]
    assert [r["step"] for r in runs["random"]] == [r["step"] for r in runs["padding_free"]]
    for padded, free in zip(runs["random"], runs["padding_free"]):
        for key in ("loss", "grad_norm", "eval_loss"):
            assert (key in padded) == (key in free)
            if key in padded:
                assert free[key] == pytest.approx(padded[key], rel=1e-5), (key, padded, free)
