"""statekeeper: backends as durable, resilient statecharts.

Describe an entity's life as a statechart (:class:`Chart`), compile it once
(:func:`compile_chart`), and run instances in memory (:class:`Machine`,
:class:`AsyncMachine`) or, with the same chart, durably.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .core import (
    Assign,
    Call,
    Cancel,
    Chart,
    ChartError,
    ChartWarning,
    CompiledChart,
    Content,
    DataItem,
    DataMapFailed,
    DoneData,
    Effect,
    Event,
    EventNotAccepted,
    ExecutionError,
    Final,
    Foreach,
    History,
    If,
    InvalidPayload,
    Invoke,
    LimitExceeded,
    Limits,
    Log,
    MachineFinished,
    Microstep,
    Migration,
    MigrationError,
    NoMigrationPath,
    Parallel,
    Param,
    Raise,
    ReservedEventName,
    Script,
    Send,
    Snapshot,
    SnapshotError,
    SnapshotMismatch,
    State,
    StatekeeperError,
    StepResult,
    Transition,
    UnboundName,
    UnknownMappedState,
    UnmappedState,
    UnstorableValue,
    VersionConflict,
    VersionCycle,
    compile_chart,
    initial_step,
    step,
)

if TYPE_CHECKING:
    from .client import ArchiveError, AsyncClient, AuditPage, Client, PruneReport, QueryPage
    from .client.errors import (
        ArgumentTypeError,
        InvalidArgument,
        InvalidTraceparent,
        UnknownState,
    )
    from .clock import Clock, SystemClock, VirtualClock
    from .machine import AsyncMachine, Machine, Outcome
    from .resilience import (
        Breaker,
        BreakerOpen,
        BreakerState,
        Bulkhead,
        RateLimit,
        ResilienceError,
        RetriesExhausted,
        Retry,
        Timeout,
    )
    from .runtime.authz import (
        Allow,
        InvalidPolicy,
        InvalidPrincipal,
        NotAuthorized,
        Policy,
        Principal,
    )
    from .runtime.engine import CommitConflict, EngineClosed, UnknownDeadLetter
    from .runtime.envelopes import (
        Envelope,
        EnvelopeError,
        EnvelopeExpired,
        EnvelopeMalformed,
        EnvelopeReplayed,
        EnvelopeSignatureInvalid,
        EnvelopeVerifier,
        InvalidVerifier,
    )
    from .runtime.errors import IdempotencyKeyReused
    from .runtime.gauges import InvalidStuckAfter
    from .runtime.gc_tuning import GcTuning, InvalidGcTuning, tune_gc
    from .runtime.metrics import MetricsPortInUse, MetricsUnavailable
    from .runtime.registry import UnknownChart
    from .runtime.state import InstanceState
    from .runtime.tracing import TracingUnavailable
    from .storage.base import (
        ForeignDatabase,
        InstanceExists,
        IntegrityError,
        NotADatabaseFile,
        RevisionBehindLog,
        StoreUnavailable,
        UnknownInstance,
    )
    from .storage.records import CorruptedRow

# Exports that pull in threads, asyncio or a database driver load on first use, so that
# ``import statekeeper.core`` (the pure step) stays free of them.
_LAZY = {
    "AsyncClient": "client", "Client": "client",
    "ArgumentTypeError": "client.errors", "InvalidArgument": "client.errors",
    "UnknownState": "client.errors",
    "Clock": "clock", "SystemClock": "clock", "VirtualClock": "clock",
    "AsyncMachine": "machine", "Machine": "machine", "Outcome": "machine",
    "UnknownChart": "runtime.registry", "InstanceExists": "storage.base",
    "IntegrityError": "storage.base", "StoreUnavailable": "storage.base",
    "UnknownInstance": "storage.base", "UnknownDeadLetter": "runtime.engine",
    "CommitConflict": "runtime.engine",
    "EngineClosed": "runtime.engine",
    "IdempotencyKeyReused": "runtime.errors", "InstanceState": "runtime.state",
    # what callers catch or read when a store or one of its rows is not what it should be
    "ForeignDatabase": "storage.base", "NotADatabaseFile": "storage.base",
    "RevisionBehindLog": "storage.base", "CorruptedRow": "storage.records",
    "QueryPage": "client",
    # the transition log across instances, and its retention
    "AuditPage": "client", "PruneReport": "client", "ArchiveError": "client",
    # per-event authorization (docs/security.md)
    "Allow": "runtime.authz", "InvalidPolicy": "runtime.authz",
    "InvalidPrincipal": "runtime.authz", "NotAuthorized": "runtime.authz",
    "Policy": "runtime.authz", "Principal": "runtime.authz",
    # events from outside (docs/security.md)
    "Envelope": "runtime.envelopes", "EnvelopeError": "runtime.envelopes",
    "EnvelopeExpired": "runtime.envelopes", "EnvelopeMalformed": "runtime.envelopes",
    "EnvelopeReplayed": "runtime.envelopes",
    "EnvelopeSignatureInvalid": "runtime.envelopes",
    "EnvelopeVerifier": "runtime.envelopes", "InvalidVerifier": "runtime.envelopes",
    # the garbage collector set for the engine (docs/durable.md, "Timers under load")
    "GcTuning": "runtime.gc_tuning", "InvalidGcTuning": "runtime.gc_tuning",
    "tune_gc": "runtime.gc_tuning",
    # Prometheus metrics (docs/observability.md)
    "MetricsPortInUse": "runtime.metrics", "MetricsUnavailable": "runtime.metrics",
    # OpenTelemetry spans (docs/observability.md)
    "InvalidTraceparent": "client.errors", "TracingUnavailable": "runtime.tracing",
    "InvalidStuckAfter": "runtime.gauges",
    # the policies an Effect takes (the README's example uses them as top-level names)
    "Breaker": "resilience", "BreakerOpen": "resilience", "BreakerState": "resilience",
    "Bulkhead": "resilience", "RateLimit": "resilience", "ResilienceError": "resilience",
    "RetriesExhausted": "resilience", "Retry": "resilience", "Timeout": "resilience",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'statekeeper' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__version__ = "0.1.0"

__all__ = [
    "Allow",
    "ArchiveError",
    "ArgumentTypeError",
    "Assign",
    "AsyncClient",
    "AsyncMachine",
    "AuditPage",
    "Breaker",
    "BreakerOpen",
    "BreakerState",
    "Bulkhead",
    "Call",
    "Cancel",
    "Chart",
    "ChartError",
    "ChartWarning",
    "Client",
    "Clock",
    "CommitConflict",
    "CompiledChart",
    "Content",
    "CorruptedRow",
    "DataItem",
    "DataMapFailed",
    "DoneData",
    "Effect",
    "EngineClosed",
    "Envelope",
    "EnvelopeError",
    "EnvelopeExpired",
    "EnvelopeMalformed",
    "EnvelopeReplayed",
    "EnvelopeSignatureInvalid",
    "EnvelopeVerifier",
    "Event",
    "EventNotAccepted",
    "ExecutionError",
    "Final",
    "Foreach",
    "ForeignDatabase",
    "GcTuning",
    "History",
    "IdempotencyKeyReused",
    "If",
    "InstanceExists",
    "InstanceState",
    "IntegrityError",
    "InvalidArgument",
    "InvalidGcTuning",
    "InvalidPayload",
    "InvalidPolicy",
    "InvalidPrincipal",
    "InvalidStuckAfter",
    "InvalidTraceparent",
    "InvalidVerifier",
    "Invoke",
    "LimitExceeded",
    "Limits",
    "Log",
    "Machine",
    "MachineFinished",
    "MetricsPortInUse",
    "MetricsUnavailable",
    "Microstep",
    "Migration",
    "MigrationError",
    "NoMigrationPath",
    "NotADatabaseFile",
    "NotAuthorized",
    "Outcome",
    "Parallel",
    "Param",
    "Policy",
    "Principal",
    "PruneReport",
    "QueryPage",
    "Raise",
    "RateLimit",
    "ReservedEventName",
    "ResilienceError",
    "RetriesExhausted",
    "Retry",
    "RevisionBehindLog",
    "Script",
    "Send",
    "Snapshot",
    "SnapshotError",
    "SnapshotMismatch",
    "State",
    "StatekeeperError",
    "StepResult",
    "StoreUnavailable",
    "SystemClock",
    "Timeout",
    "TracingUnavailable",
    "Transition",
    "UnboundName",
    "UnknownChart",
    "UnknownDeadLetter",
    "UnknownInstance",
    "UnknownMappedState",
    "UnknownState",
    "UnmappedState",
    "UnstorableValue",
    "VersionConflict",
    "VersionCycle",
    "VirtualClock",
    "__version__",
    "compile_chart",
    "initial_step",
    "step",
    "tune_gc",
]
