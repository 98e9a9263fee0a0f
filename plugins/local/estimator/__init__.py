"""The local backend's estimator arithmetic: model shape, memory, time and token counts.

Light on purpose (no torch): ``ftx estimate`` imports it through :mod:`ftx.plugins.local.estimate`.
"""
