"""Length-grouped batching: on by default, the same examples once per epoch, the same loss per
example as padded random batches, and a dry run that states it with the padding it expects."""

from __future__ import annotations

import json
import random

import pytest

from ftx.plugins.local.batching import grouped_order, padding_share, random_order


def _recipe(tmp_path, rows, extra: str = "", hp: str = ""):
    from ftx.recipe import load_recipe

    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    path = tmp_path / "r.yaml"
    extra = extra or "backends: {local: {batching: grouped}}\n"
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


def test_sft_batches_are_length_grouped_on_request_and_random_by_default(tmp_path):
    from ftx.plugins.local.batching import effective_mode, trainer_args
    from ftx.recipe import load_recipe

    (tmp_path / "t.jsonl").write_text("")
    (tmp_path / "d.yaml").write_text(f"name: d\nmodel: {{local: m}}\ndata: {{train: {tmp_path / 't.jsonl'}}}\n")
    assert effective_mode(load_recipe(tmp_path / "d.yaml", backend="local")) == "random"

    assert trainer_args(_recipe(tmp_path, _rows(4))) == {"train_sampling_strategy": "group_by_length"}
    assert trainer_args(_recipe(tmp_path, _rows(4), "backends: {local: {batching: random}}\n")) == {}
    assert trainer_args(_recipe(tmp_path, _rows(4), hp=", packing: true")) == {}


def test_the_dry_run_names_the_batching_and_its_padding(tmp_path):
    import re

    from ftx.plugins.local.backend import LocalBackend

    recipe = _recipe(tmp_path, _rows(200))
    plan = LocalBackend().plan(recipe, {"train_examples": 200})
    assert plan["batching"].startswith("length-grouped")
    grouped, random_share = map(int, re.findall(r"(\d+)%", plan["padding expected"]))
    assert grouped < random_share
    plain = LocalBackend().plan(_recipe(tmp_path, _rows(200), "backends: {local: {batching: random}}\n"), {})
    assert plain["batching"].startswith("random") and plain["padding expected"].startswith(f"{random_share}%")


@pytest.mark.slow
def test_grouped_batches_train_every_example_once_with_the_same_per_example_loss(tiny_model, tmp_path):
    """The sampler the trainer really uses is a seeded permutation, and each example's loss in a
    length-grouped padded batch equals its loss in a random padded batch (padding is masked out)."""
    import torch

    from ftx.data.load import iter_examples
    from ftx.plugins.local.config import sft_config
    from ftx.plugins.local.device import plan_device
    from ftx.plugins.local.models import load_model, load_tokenizer
    from ftx.plugins.local.trainer import build_trainer
    from ftx.plugins.local.trl_data import build_datasets
    from ftx.plugins.methods.catalog import Lora

    recipe = _recipe(tmp_path, _rows(48))
    tok = load_tokenizer(str(tiny_model))
    data = build_datasets(list(iter_examples(recipe.data_path(recipe.recipe.data.train))), [], "sft", tok)
    args = sft_config(recipe, plan_device("cpu", Lora()), str(tmp_path / "ck"), len(data.train), False, data.loss)
    model = load_model(str(tiny_model), "float32", "cpu")
    trainer = build_trainer("sft", model, tok, data, args, [])
    sampler = trainer._get_train_sampler()
    orders = []
    for _ in range(2):
        torch.manual_seed(len(orders))  # the global random state does not matter: resumes replay the order
        orders.append(list(sampler))
    assert orders[0] == orders[1] and sorted(orders[0]) == list(range(len(data.train)))
    sampler.set_epoch(1)
    assert list(sampler) != orders[0] and sorted(sampler) == sorted(orders[0])  # a new order each epoch
    rows = [trainer.train_dataset[i] for i in range(len(data.train))]
    lengths = [len(r["input_ids"]) for r in rows]
    assert padding_share(lengths, orders[0], 4) < padding_share(lengths, range(len(rows)), 4)

    def losses(order):
        out = {}
        model.eval()
        for start in range(0, len(order), 4):
            ids = order[start:start + 4]
            batch = trainer.data_collator([rows[i] for i in ids])
            with torch.no_grad():
                logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            labels = batch["labels"][:, 1:]
            per_token = torch.nn.functional.cross_entropy(
                logits[:, :-1].transpose(1, 2), labels, ignore_index=-100, reduction="none")
            mask = labels != -100
            for row, i in enumerate(ids):
                out[i] = (per_token[row][mask[row]].sum().item(), int(mask[row].sum()))
        return out

    grouped, shuffled = losses(orders[0]), losses(random_order(len(rows), 0))
    assert grouped.keys() == shuffled.keys()
    for i in grouped:
        assert grouped[i][1] == shuffled[i][1]
        assert grouped[i][0] == pytest.approx(shuffled[i][0], rel=1e-5, abs=1e-4)
