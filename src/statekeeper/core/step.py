"""The pure step: W3C SCXML's interpretation algorithm as one function.

``step(chart, snapshot, event, now=...)`` returns the next snapshot and everything the world
must do (effects, timers, sends, invokes, logs) as data, plus the microsteps taken.  It does no
I/O, reads no clock and never mutates its inputs, so every driver (the in-memory machine, the
durable runtime, the tests) runs exactly the same semantics.

Function names follow the algorithm in the SCXML recommendation, Appendix D
(https://www.w3.org/TR/scxml/#AlgorithmforSCXMLInterpretation).
"""

from __future__ import annotations

import copy
from typing import Any

from ._quick import unhandled
from ._run import MAX_MICROSTEPS, Run
from .compile import CompiledChart
from .errors import MachineFinished
from .events import Event, as_event
from .result import StepResult
from .snapshot import Snapshot

__all__ = ["MAX_MICROSTEPS", "StepResult", "initial_step", "step"]


def initial_step(
    chart: CompiledChart,
    *,
    now: float = 0.0,
    data: dict[str, Any] | None = None,
    session: str = "",
    parent: str | None = None,
) -> StepResult:
    """Start an instance: bind the datamodel, enter the initial configuration, settle.

    ``data`` overrides declared data items of the same name (SCXML invoke params do this).
    """
    run = Run(chart, session, now, {}, {}, {}, {}, 0, parent)
    items = chart.data_items if chart.binding == "early" else [
        (n, i) for n, i in chart.data_items if n is chart.root
    ]
    run.bind_data([i for _, i in items], skip=set(data or ()))
    if data:
        run.ctx.data.update(data)
        run.ctx.view = None
    if chart.script is not None:
        run.execute_block((lambda r: chart.script(r.ctx),))
    assert chart.root.initial is not None
    # the initial transition as a microstep of its own: the audit log shows every state the
    # instance entered, not only those later transitions entered
    if run.plans is not None:
        run.key = run.plans.key_of((), 0)
        assert run.key is not None
        run.run_plan(run.plans.plan(run.key, (chart.root.initial,), run.history), None)
    else:
        run.microstep([chart.root.initial], None)
    run.macrostep()
    return run.result("applied", None)


def step(chart: CompiledChart, snapshot: Snapshot, event: Event | str, *, now: float = 0.0,
         timer: str | None = None) -> StepResult:
    """Process one external event to completion (one SCXML macrostep) and return the result.

    ``timer`` names the pending timer (delayed send) that is delivering ``event``; it is removed
    from the snapshot's pending timers, so a restored snapshot never fires it again.

    Raises:
        SnapshotMismatch: the snapshot was taken from another chart.
        MachineFinished: the instance already reached a top-level final state.

    """
    plans = chart.plans
    key = None if plans is None or snapshot.chart != chart.name or snapshot.hash != chart.hash \
        or snapshot.version != chart.version or snapshot.configuration.__class__ is not tuple \
        else plans.known(snapshot.configuration)
    if key is None:  # a configuration stepped before needs no second look at its states
        snapshot.check(chart)
        if plans is not None:
            key = plans.key_of_ids(snapshot.configuration)
    ev = event if event.__class__ is Event else as_event(event, None)
    if snapshot.done:
        raise MachineFinished(ev.name, snapshot.configuration)
    data = copy.deepcopy(snapshot.data) if chart.datamodel.name == "python" else dict(snapshot.data)
    run = Run(
        chart, snapshot.session, now, data, dict(snapshot.history), dict(snapshot.timers),
        dict(snapshot.invokes), snapshot.counter, snapshot.parent,
    )
    if key is not None:
        run.config.update(key)
        run.key = key
    else:
        run.config.update(chart.nodes[s] for s in snapshot.configuration)
    fired = timer if timer is not None else ev.sendid
    if fired is not None and fired in run.timers:
        del run.timers[fired]
        run.dynamic = True
    run.ctx.event = ev
    handled = run.apply_invoke_rules(ev)
    enabled = run.select(ev)
    if enabled:
        run.take(enabled, ev.name)
    elif not run.internal and not handled:
        run.ctx.data = snapshot.data  # only conditions ran: the data is the one given, as given
        run.ctx.view = None
        return run.result(unhandled(run, ev), ev)
    run.macrostep()
    return run.result("applied", ev)
