"""Built-in data formats (placeholder)."""
