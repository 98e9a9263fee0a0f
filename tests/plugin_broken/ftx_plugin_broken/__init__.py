"""A plugin that cannot be imported (as when a dependency is missing or incompatible)."""

raise RuntimeError("ftx-plugin-broken cannot start: its backend library is missing")
