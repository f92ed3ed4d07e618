"""``python -m sd`` is the same as the ``sd`` command."""

from sd.cli import main

raise SystemExit(main())
