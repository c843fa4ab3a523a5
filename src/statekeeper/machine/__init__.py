"""In-memory machines over the pure step: :class:`Machine` and its asyncio twin."""

from ._base import InvokeLoader, Listener
from ._memo import Outcome
from .aio import AsyncioClock, AsyncMachine
from .resilient import AsyncResilientMachine, AttemptHook, ResilientMachine
from .sync import Machine

__all__ = [
    "AsyncMachine",
    "AsyncResilientMachine",
    "AsyncioClock",
    "AttemptHook",
    "InvokeLoader",
    "Listener",
    "Machine",
    "Outcome",
    "ResilientMachine",
]
