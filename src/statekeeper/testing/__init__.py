"""Tools for testing charts and the code around them.

* :class:`VirtualClock`: time that moves only when told (``advance``, ``run_until_idle``).
* :mod:`statekeeper.testing.strategies`: Hypothesis strategies for charts and event sequences
  (needs the ``hypothesis`` package; import that module explicitly).
* :mod:`statekeeper.testing.reference`: the pure step folded over an event sequence by hand,
  the oracle machines and the durable runtime are compared with.
* :mod:`statekeeper.testing.w3c`: the W3C SCXML conformance runner
  (``python -m statekeeper.testing.w3c DIR...``).
"""

from ..clock import VirtualClock

__all__ = ["VirtualClock"]
