"""Tools for testing charts and the code around them.

* :class:`VirtualClock`: time that moves only when told (``advance``, ``run_until_idle``).
* :mod:`statekeeper.testing.strategies`: Hypothesis strategies for charts and event sequences
  (needs the ``hypothesis`` package; import that module explicitly).
* :mod:`statekeeper.testing.w3c`: the W3C SCXML conformance runner
  (``python -m statekeeper.testing.w3c DIR...``).
"""

from ..clock import VirtualClock

__all__ = ["VirtualClock"]
