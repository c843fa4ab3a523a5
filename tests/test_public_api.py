"""The public namespaces, pinned: an API change always shows up in a diff of this file."""

from __future__ import annotations

import statekeeper
import statekeeper.core
import statekeeper.machine
import statekeeper.testing

EXPECTED_TOP = {
    "Assign", "AsyncClient", "AsyncMachine", "Client", "InstanceExists", "IntegrityError",
    "StoreUnavailable", "UnknownChart", "UnknownDeadLetter", "CommitConflict", "EngineClosed",
    "UnknownInstance", "Call", "Cancel", "Chart",
    "ChartError", "ChartWarning", "Clock",
    "CompiledChart", "Content", "DataItem", "DoneData", "Effect", "Event", "EventNotAccepted",
    "ExecutionError", "Final", "Foreach", "History", "If", "Invoke", "Log", "Machine",
    "MachineFinished", "Microstep", "Outcome", "Parallel", "Param", "Raise", "Script", "Send",
    "Snapshot", "SnapshotError", "SnapshotMismatch", "State", "StatekeeperError", "StepResult",
    "SystemClock", "Transition", "UnboundName", "VirtualClock", "__version__", "compile_chart",
    "initial_step", "step", "InvalidPayload", "LimitExceeded", "Limits", "ReservedEventName",
    "UnstorableValue",
    # the result type of every client method, and the policies an Effect takes
    "ArgumentTypeError", "InvalidArgument", "IdempotencyKeyReused", "InstanceState",
    "UnknownState", "Breaker", "BreakerOpen", "BreakerState", "Bulkhead", "RateLimit",
    "ResilienceError", "RetriesExhausted", "Retry", "Timeout",
    # what a caller catches or reads when a database or one of its rows is not right
    "ForeignDatabase", "NotADatabaseFile", "RevisionBehindLog", "QueryPage", "CorruptedRow",
    # versions and migrations of in-flight instances, and what a bad migration raises
    "Migration", "MigrationError", "UnmappedState", "UnknownMappedState", "DataMapFailed",
    "VersionConflict", "VersionCycle", "NoMigrationPath",
    # the transition log across instances, and its retention
    "AuditPage", "PruneReport", "ArchiveError",
    # per-event authorization
    "Allow", "InvalidPolicy", "InvalidPrincipal", "NotAuthorized", "Policy", "Principal",
    # events from outside: envelopes, their verifier and what a refusal raises
    "Envelope", "EnvelopeError", "EnvelopeExpired", "EnvelopeMalformed", "EnvelopeReplayed",
    "EnvelopeSignatureInvalid", "EnvelopeVerifier", "InvalidVerifier",
    # Prometheus metrics
    "MetricsPortInUse", "MetricsUnavailable",
    # OpenTelemetry spans
    "InvalidTraceparent", "TracingUnavailable",
    # Python's garbage collector set for the engine
    "GcTuning", "InvalidGcTuning", "tune_gc",
    "InvalidStuckAfter",
}


def test_top_level_exports() -> None:
    assert set(statekeeper.__all__) == EXPECTED_TOP
    for name in statekeeper.__all__:
        assert hasattr(statekeeper, name), name


def test_every_error_shares_one_base() -> None:
    errors = [getattr(statekeeper, n) for n in statekeeper.__all__
              if isinstance(getattr(statekeeper, n), type)
              and issubclass(getattr(statekeeper, n), Exception)
              and not issubclass(getattr(statekeeper, n), Warning)]
    assert len(errors) >= 7
    assert all(issubclass(e, statekeeper.StatekeeperError) for e in errors)


def test_subpackages_declare_their_exports() -> None:
    for module in (statekeeper.core, statekeeper.machine, statekeeper.testing):
        for name in module.__all__:
            assert hasattr(module, name), (module.__name__, name)
    assert set(statekeeper.machine.__all__) == {
        "AsyncMachine", "AsyncioClock", "InvokeLoader", "Listener", "Machine", "Outcome",
        "AsyncResilientMachine", "AttemptHook", "ResilientMachine",
    }
    assert statekeeper.testing.__all__ == ["VirtualClock"]


def test_store_errors_and_query_results_are_top_level() -> None:
    from statekeeper import (
        CorruptedRow,
        ForeignDatabase,
        IntegrityError,
        NotADatabaseFile,
        QueryPage,
        RevisionBehindLog,
        StatekeeperError,
    )
    from statekeeper.client import QueryPage as SamePage
    from statekeeper.storage.base import ForeignDatabase as SameForeign

    assert QueryPage is SamePage and ForeignDatabase is SameForeign
    assert issubclass(ForeignDatabase, StatekeeperError)
    assert issubclass(NotADatabaseFile, IntegrityError)
    assert issubclass(RevisionBehindLog, IntegrityError)
    assert CorruptedRow.__module__ == "statekeeper.storage.records"
