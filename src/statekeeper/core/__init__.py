"""The pure statechart core: definitions, compilation and the step.  Stdlib only.

Nothing in this package performs I/O, reads a clock, starts a thread or draws randomness;
time and ids are arguments.  ``tests/core/test_purity.py`` checks this.
"""

from .actions import (
    MISSING,
    Action,
    Assign,
    Call,
    Cancel,
    Content,
    Effect,
    Foreach,
    If,
    Log,
    Param,
    Raise,
    Script,
    Send,
)
from .commands import (
    CancelInvoke,
    CancelTimer,
    Command,
    ForwardEvent,
    LogEntry,
    Microstep,
    RunEffect,
    SendEvent,
    StartInvoke,
    StartTimer,
)
from .compile import CompiledChart, compile_chart
from .durations import parse_duration
from .errors import (
    ChartError,
    ChartWarning,
    EventNotAccepted,
    ExecutionError,
    InvalidPayload,
    LimitExceeded,
    MachineFinished,
    ReservedEventName,
    SnapshotError,
    SnapshotMismatch,
    StatekeeperError,
    UnboundName,
)
from .events import Event
from .limits import DEFAULT_LIMITS, Limits
from .model import Chart, DataItem, DoneData, Final, History, Invoke, Parallel, State, Transition
from .snapshot import Snapshot
from .step import StepResult, initial_step, step

__all__ = [
    "DEFAULT_LIMITS",
    "MISSING",
    "Action",
    "Assign",
    "Call",
    "Cancel",
    "CancelInvoke",
    "CancelTimer",
    "Chart",
    "ChartError",
    "ChartWarning",
    "Command",
    "CompiledChart",
    "Content",
    "DataItem",
    "DoneData",
    "Effect",
    "Event",
    "EventNotAccepted",
    "ExecutionError",
    "Final",
    "Foreach",
    "ForwardEvent",
    "History",
    "If",
    "InvalidPayload",
    "Invoke",
    "LimitExceeded",
    "Limits",
    "Log",
    "LogEntry",
    "MachineFinished",
    "Microstep",
    "Parallel",
    "Param",
    "Raise",
    "ReservedEventName",
    "RunEffect",
    "Script",
    "Send",
    "SendEvent",
    "Snapshot",
    "SnapshotError",
    "SnapshotMismatch",
    "StartInvoke",
    "StartTimer",
    "State",
    "StatekeeperError",
    "StepResult",
    "Transition",
    "UnboundName",
    "compile_chart",
    "initial_step",
    "parse_duration",
    "step",
]
