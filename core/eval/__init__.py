"""Task evaluation: test sets, metrics, baselines, statistics, reports (``ftx eval``)."""
