"""Every built-in metric against its reference implementation on fixed cases."""

from __future__ import annotations

import json

import pytest

from ftx.errors import RecipeError
from ftx.eval.metrics import build_metrics, metrics

PREDS = ["The cat sat on the mat.", "A dog barks loudly", "green eggs and ham", "", "It is raining today"]
REFS = ["The cat is on the mat.", "The dog barks.", "green eggs and spam", "nothing", "It rains today"]


def one(item):
    return build_metrics([item])[0]


def test_builtins_are_registered_through_the_hook():
    table = metrics()
    assert {"exact_match", "accuracy", "f1", "rouge_l", "bleu", "chrf", "json_valid", "json_schema", "regex",
            "perplexity"} <= set(table)
    assert table["rouge_l"].plugin == "metrics"


def test_exact_match_normalises_case_punctuation_articles():
    m = one("exact_match")
    assert m.score("The Cat, sat!", "cat sat") == 100.0
    assert m.score("a  dog", "The dog.") == 100.0
    assert m.score("dogs", "dog") == 0.0
    assert m.aggregate([m.score(p, r) for p, r in zip(PREDS, REFS)]) == 0.0


def test_rouge_l_matches_rouge_score():
    from rouge_score import rouge_scorer

    ref = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    m = one("rouge_l")
    for p, r in zip(PREDS, REFS):
        assert m.score(p, r) == pytest.approx(100 * ref.score(r, p)["rougeL"].fmeasure)


def test_bleu_and_chrf_match_sacrebleu_corpus_scores():
    import sacrebleu

    for name, ref in (("bleu", sacrebleu.corpus_bleu(PREDS, [REFS]).score),
                      ("chrf", sacrebleu.corpus_chrf(PREDS, [REFS]).score)):
        m = one(name)
        stats = [m.example_stats(p, r) for p, r in zip(PREDS, REFS)]
        if name == "bleu":  # ftx uses effective order (sane on short answers); check that sacrebleu agrees
            ref = sacrebleu.metrics.BLEU(effective_order=True).corpus_score(PREDS, [REFS]).score
        assert m.aggregate(stats) == pytest.approx(ref)
    # a subset re-aggregates like sacrebleu on that subset (what each bootstrap resample does)
    m = one("chrf")
    sub = [m.example_stats(p, r) for p, r in list(zip(PREDS, REFS))[:2]]
    assert m.aggregate(sub) == pytest.approx(sacrebleu.corpus_chrf(PREDS[:2], [REFS[:2]]).score)


def test_macro_f1_and_accuracy_match_scikit_learn():
    from sklearn.metrics import accuracy_score, f1_score

    truth = ["positive", "negative", "neutral", "positive", "negative", "positive"]
    pred = ["Positive.", "positive", "neutral\nbecause it is", "positive", "Negative", "negative"]
    clean = ["positive", "positive", "neutral", "positive", "negative", "negative"]
    f1 = one("f1")
    assert f1.aggregate([f1.example_stats(p, t) for p, t in zip(pred, truth)]) == pytest.approx(
        100 * f1_score(truth, clean, average="macro"))
    acc = one("accuracy")
    assert acc.aggregate([acc.score(p, t) for p, t in zip(pred, truth)]) == pytest.approx(
        100 * accuracy_score(truth, clean))


def test_json_valid_and_schema(tmp_path):
    import jsonschema

    schema = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}
    (tmp_path / "s.json").write_text(json.dumps(schema))
    valid, with_schema = one("json_valid"), build_metrics([{"json_schema": "s.json"}], str(tmp_path))[0]
    cases = ['{"name": "x"}', '```json\n{"name": "y"}\n```', '{"name": 3}', "not json", "[1, 2]"]
    assert [valid.score(c, None) for c in cases] == [100, 100, 100, 0, 100]
    for c in cases:
        try:
            value = json.loads(c.strip("`").removeprefix("json")) if c.startswith("```") else json.loads(c)
            expected = 100.0 if jsonschema.Draft202012Validator(schema).is_valid(value) else 0.0
        except ValueError:
            expected = 0.0
        assert with_schema.score(c, None) == expected


def test_regex_metric():
    m = one({"regex": r"^\d+$"})
    assert (m.score("42", None), m.score("42 apples", None)) == (100.0, 0.0)


def test_bad_metrics_are_recipe_errors_naming_the_item(tmp_path):
    with pytest.raises(RecipeError) as err:
        build_metrics(["exact_match", "bleurt", {"regex": "("}, {"json_schema": "missing.json"}, {"rouge_l": 3}],
                      str(tmp_path))
    fields = [p.field for p in err.value.problems]
    assert fields == ["eval.metrics.1", "eval.metrics.2", "eval.metrics.3", "eval.metrics.4"]
    assert "unknown metric 'bleurt'" in str(err.value)
