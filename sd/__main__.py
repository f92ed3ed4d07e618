"""``python -m sd`` is the same as the ``sd`` command."""

from sd.cli.commands import main

raise SystemExit(main())
