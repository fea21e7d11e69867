"""``python -m botoware``: the same command line as the ``botoware`` script."""

from botoware.contrib.cli import main

raise SystemExit(main())
