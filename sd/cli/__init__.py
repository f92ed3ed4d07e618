"""The command line: ``sd`` and its subcommands (:mod:`sd.cli.commands.commands`)."""
