"""The built-in metrics. Text overlap comes from the reference libraries, not our own code:
ROUGE-L from Google's ``rouge-score`` (the implementation behind the published ROUGE numbers),
BLEU and chrF from ``sacrebleu`` (the WMT standard, with its corpus statistics so bootstrap
resamples re-aggregate exactly), macro F1 from scikit-learn, JSON Schema from ``jsonschema``.
They are the ``eval`` extra: ``pip install 'ftx[eval]'``.
"""

from __future__ import annotations

import copy
import json
import re
import string
from pathlib import Path
from typing import Any, Sequence

from ftx.errors import FtxError
from ftx.eval.metrics import Metric

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation)


def normalize(text: str | None) -> str:
    """SQuAD's answer normalisation: lowercase, no punctuation, no articles, single spaces."""
    text = (text or "").lower().translate(_PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _need(module: str, package: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise FtxError(f"this metric needs {package}, which is not installed",
                       hint="pip install 'ftx[eval]'") from exc


class ExactMatch(Metric):
    name = "exact_match"
    description = "answer equals the reference after normalisation (case, punctuation, articles, spaces)"
    binary = True

    def score(self, prediction: str, reference: str | None) -> float:
        return 100.0 if normalize(prediction) == normalize(reference) else 0.0


class Accuracy(ExactMatch):
    name = "accuracy"
    description = "label tasks: the answer's label (its first line, normalised) equals the reference label"

    def score(self, prediction: str, reference: str | None) -> float:
        return 100.0 if label_of(prediction) == label_of(reference) else 0.0


def label_of(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return normalize(lines[0] if lines else "")


class MacroF1(Metric):
    name = "f1"
    description = "label tasks: macro-averaged F1 over the reference labels (scikit-learn)"

    def example_stats(self, prediction: str, reference: str | None) -> Any:
        return (label_of(reference), label_of(prediction))

    def score(self, prediction: str, reference: str | None) -> float:
        return 100.0 if label_of(prediction) == label_of(reference) else 0.0

    def aggregate(self, stats: Sequence[Any]) -> float:
        if not stats:
            return 0.0
        metrics = _need("sklearn.metrics", "scikit-learn")
        truth = [s[0] for s in stats]
        predicted = [s[1] for s in stats]
        labels = sorted(set(truth))  # predicted labels outside the reference set count as misses only
        return 100.0 * float(metrics.f1_score(truth, predicted, labels=labels, average="macro", zero_division=0))


class RougeL(Metric):
    name = "rouge_l"
    description = "ROUGE-L F-measure (longest common subsequence), Google's rouge-score, stemmed"

    def __init__(self) -> None:
        self._scorer = None

    def score(self, prediction: str, reference: str | None) -> float:
        if self._scorer is None:
            rouge = _need("rouge_score.rouge_scorer", "rouge-score")
            self._scorer = rouge.RougeScorer(["rougeL"], use_stemmer=True)
        return 100.0 * self._scorer.score(reference or "", prediction or "")["rougeL"].fmeasure


class _Sacre(Metric):
    """A sacrebleu corpus metric: per-example sufficient statistics, summed, then scored."""

    def _metric(self) -> Any:
        raise NotImplementedError

    def example_stats(self, prediction: str, reference: str | None) -> Any:
        m = self._metric()
        return m._extract_corpus_statistics([prediction or ""], [[reference or ""]])[0]

    def score(self, prediction: str, reference: str | None) -> float:
        return self._metric().sentence_score(prediction or "", [reference or ""]).score

    def aggregate(self, stats: Sequence[Any]) -> float:
        if not stats:
            return 0.0
        summed = [sum(col) for col in zip(*stats)]
        return float(self._metric()._compute_score_from_stats(summed).score)


class Bleu(_Sacre):
    name = "bleu"
    description = "corpus BLEU (sacrebleu, 13a tokenizer, effective order)"

    def _metric(self) -> Any:
        if getattr(self, "_m", None) is None:
            self._m = _need("sacrebleu.metrics", "sacrebleu").BLEU(effective_order=True)
        return self._m


class Chrf(_Sacre):
    name = "chrf"
    description = "corpus chrF (sacrebleu, character 6-grams)"

    def _metric(self) -> Any:
        if getattr(self, "_m", None) is None:
            self._m = _need("sacrebleu.metrics", "sacrebleu").CHRF()
        return self._m


def _json_value(prediction: str) -> Any:
    """The answer as JSON: the whole answer, or the first fenced ```json block in it."""
    text = (prediction or "").strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.S)
    return json.loads(fenced.group(1) if fenced else text)


class JsonValid(Metric):
    name = "json_valid"
    description = "the answer parses as JSON (a ```json fence is allowed)"
    binary = True

    def score(self, prediction: str, reference: str | None) -> float:
        try:
            _json_value(prediction)
        except ValueError:
            return 0.0
        return 100.0


class JsonSchema(Metric):
    name = "json_schema"
    description = "the answer is JSON valid against a JSON Schema file ({json_schema: FILE})"
    binary = True

    def bind(self, setting: Any, base_dir: str | None = None) -> Metric:
        path = Path(str(setting)).expanduser()
        if not path.is_absolute() and base_dir:
            path = Path(base_dir) / path
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ValueError(f"json_schema: cannot read {path}: {exc.strerror}") from exc
        except ValueError as exc:
            raise ValueError(f"json_schema: {path} is not JSON: {exc}") from exc
        jsonschema = _need("jsonschema", "jsonschema")
        try:
            validator_cls = jsonschema.validators.validator_for(schema)
            validator_cls.check_schema(schema)
        except jsonschema.exceptions.SchemaError as exc:
            raise ValueError(f"json_schema: {path} is not a valid JSON Schema: {exc.message}") from exc
        out = copy.copy(self)
        out.setting = str(setting)
        out._validator = validator_cls(schema)
        return out

    def score(self, prediction: str, reference: str | None) -> float:
        validator = getattr(self, "_validator", None)
        if validator is None:
            raise FtxError("json_schema needs a schema file: {json_schema: FILE}")
        try:
            value = _json_value(prediction)
        except ValueError:
            return 0.0
        return 100.0 if validator.is_valid(value) else 0.0


class Regex(Metric):
    name = "regex"
    description = "the answer matches a regular expression ({regex: PATTERN}; re.search, anchor it yourself)"
    binary = True

    def bind(self, setting: Any, base_dir: str | None = None) -> Metric:
        try:
            compiled = re.compile(str(setting))
        except re.error as exc:
            raise ValueError(f"regex: {setting!r} is not a valid regular expression: {exc}") from exc
        out = copy.copy(self)
        out.setting = str(setting)
        out._pattern = compiled
        return out

    def score(self, prediction: str, reference: str | None) -> float:
        pattern = getattr(self, "_pattern", None)
        if pattern is None:
            raise FtxError("regex needs a pattern: {regex: PATTERN}")
        return 100.0 if pattern.search(prediction or "") else 0.0


class Perplexity(Metric):
    name = "perplexity"
    description = "local models: perplexity of the reference answers given their prompts (lower is better)"
    higher_is_better = False
    needs_model = True

    def score(self, prediction: str, reference: str | None) -> float:  # pragma: no cover - model-scored
        raise FtxError("perplexity is scored from the model, not from answers")


BUILTIN: list[Metric] = [ExactMatch(), Accuracy(), MacroF1(), RougeL(), Bleu(), Chrf(), JsonValid(),
                         JsonSchema(), Regex(), Perplexity()]
