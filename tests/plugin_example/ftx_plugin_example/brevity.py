"""A metric: answers of at most 12 words score 100."""

from ftx.eval.metrics import Metric


class Brevity(Metric):
    name = "brevity"
    description = "the answer has at most 12 words"
    binary = True

    def score(self, prediction, reference):
        return 100.0 if len((prediction or "").split()) <= 12 else 0.0
