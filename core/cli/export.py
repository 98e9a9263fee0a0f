"""placeholder: filled by its owner."""
COMMANDS: list = []
