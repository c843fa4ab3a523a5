"""Benchmarks for statekeeper: ``python -m statekeeper.bench <command>``.

``dispatch`` compares in-process event dispatch, instance creation and instance size with peer
Python statechart libraries (install them with ``pip install 'statekeeper[bench]'``; missing
ones are skipped).  ``durable`` measures committed transitions per second, send-to-commit
latency and mass creation on SQLite with ``synchronous=FULL``, against xstate-statemachine's
and DBOS's SQLite persistence.  Nothing in the library imports this package; it exists so
that claims about speed can be re-checked by anyone with one command.
"""

from __future__ import annotations

__all__: list[str] = []
