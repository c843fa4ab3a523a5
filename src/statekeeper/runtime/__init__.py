"""The durable runtime: commits pure steps to a store, fires timers and runs effects after commit.

Most users reach it through :class:`statekeeper.client.Client`; the pieces here are the engine
(group commit), the planner (pure: step result to store writes) and the worker (timers, outbox).
"""

from .engine import Engine
from .registry import Registry, UnknownChart
from .worker import Worker

__all__ = ["Engine", "Registry", "UnknownChart", "Worker"]
