"""Keep the training libraries' own chatter off the user's screen; ftx shows its own progress."""

from __future__ import annotations

import contextlib
import warnings
from typing import Iterator

_LIBRARIES = r"(transformers|peft|trl|accelerate|torch|datasets|bitsandbytes)(\.|$)"


def quiet_libraries() -> None:
    """Silence the libraries' progress bars and info logging (process-wide)."""
    import datasets
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    datasets.disable_progress_bars()
    datasets.utils.logging.set_verbosity_error()


@contextlib.contextmanager
def no_deprecation_notices() -> Iterator[None]:
    """Hide the libraries' deprecation warnings (meant for ftx's developers, not its users);
    other warnings still show."""
    with warnings.catch_warnings():
        for category in (FutureWarning, DeprecationWarning):
            warnings.filterwarnings("ignore", category=category, module=_LIBRARIES)
        # PEFT's prompt learning drops the position ids TRL passes; harmless and not actionable.
        warnings.filterwarnings("ignore", message="Position ids are not supported")
        yield
