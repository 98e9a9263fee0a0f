"""Cost, time and memory estimation (ftx estimate)."""
