"""``python -m statekeeper``: the same command line as the ``statekeeper`` script."""

from statekeeper.cli.main import main

raise SystemExit(main())
