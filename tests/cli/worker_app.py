"""Effects for the ``statekeeper worker`` tests, bound by name (``--module worker_app``).

Each effect says on stdout that it ran, so a test waits for that line (an event) rather than
polling the store.  ``hold`` blocks until the test writes a line into the FIFO named by
``SK_TEST_FIFO``: an effect in flight when the worker is told to stop.
"""

from __future__ import annotations

import os
from typing import Any


def charge(args: Any, key: str) -> dict[str, bool]:
    print(f"ran {key}", flush=True)
    return {"ok": True}


def ring(args: Any, key: str) -> None:
    print(f"rang {key}", flush=True)


def hold(args: Any, key: str) -> None:
    print(f"holding {key}", flush=True)
    with open(os.environ["SK_TEST_FIFO"]) as fifo:
        fifo.readline()
    print(f"released {key}", flush=True)


EFFECTS = {"charge": charge, "ring": ring, "hold": hold}
