"""Per-event authorization: who may send which event to which instance.

Why here and not in the chart: a chart may come from a file or an untrusted source and runs
no application code, while "a customer may cancel their own order" needs the application's
idea of who the caller is.  So a :class:`Policy` is registered with the client per chart
(``client.authorize("order", policy)``), its guards are application callables, and charts
stay as they are.  Authorization is opt-in: a chart with no policy pays nothing.

What is checked, and when:

* before the step, for every event a caller delivers (``send`` on either client, the
  replay of a dead letter's event, ``statekeeper send`` and ``dead-letters replay``): the
  event's rules (roles, then the guard over the principal and the instance as committed);
* before a start, when the policy has ``start`` rules: the same, over the instance as asked
  for (:func:`check_start`); a refused start creates nothing, so it leaves no log row;
* after the step and before its commit, the states the step entered: a sensitive state
  (``Policy(states={"refunded": {"manager"}})``) can be entered only by a principal holding
  one of its roles.  The step is pure, so a refused result is simply not written.

The system's own events (timers, effect outcomes, events a chart sends itself or to another
instance) are not authorized again: the caller whose event started them was.

A refusal commits one row to the transition log (outcome ``denied``, the principal's id as
actor, the reason), logs a warning on ``statekeeper.authz``, and raises
:class:`NotAuthorized`; the instance's state and data are unchanged.

The package holds what a policy is (:mod:`._policy`), the checks on each event, start and
step (:mod:`._checks`) and the checks against a chart's versions (:mod:`._versions`);
every public name is imported from here.
"""

from __future__ import annotations

from ._checks import (
    UNSEEN_STATE_REASON,
    check_entered,
    check_event,
    check_start,
    entering_reason,
    log_denied,
)
from ._policy import (
    HIDDEN,
    START,
    Allow,
    Guard,
    InvalidPolicy,
    InvalidPrincipal,
    NotAuthorized,
    Policy,
    Principal,
)
from ._versions import check_version, validate

__all__ = ["HIDDEN", "START", "UNSEEN_STATE_REASON", "Allow", "Guard", "InvalidPolicy",
           "InvalidPrincipal", "NotAuthorized", "Policy", "Principal", "check_entered",
           "check_event", "check_start", "check_version", "entering_reason", "log_denied",
           "validate"]

# The public classes name the path users import them from (tracebacks, reprs, pickles),
# not the private module they are defined in.
for _cls in (Allow, InvalidPolicy, InvalidPrincipal, NotAuthorized, Policy, Principal):
    _cls.__module__ = __name__
del _cls
