"""What every benchmark prints: progress lines on stderr, and errors as one short line."""

from __future__ import annotations

import sys
from collections.abc import Callable

__all__ = ["describe", "progress_printer"]


def progress_printer(bench: str) -> Callable[[str], None]:
    """A function that prints ``[bench NAME] message`` to stderr at once."""
    def progress(message: str) -> None:
        print(f"[bench {bench}] {message}", file=sys.stderr, flush=True)
    return progress


def describe(exc: BaseException) -> str:
    """An error as ``TypeName: message``, for notes and progress lines."""
    return f"{type(exc).__name__}: {exc}"
