"""The subcommands, one module each: ``add_parser(sub)`` (its arguments and help) and
``main(args) -> exit code``. Adding a subcommand: one new module here and its name in
``NAMES``; ``tfrepro.cli`` assembles them in this order."""

NAMES = ("run", "reproduce", "diff", "convert", "inspect", "bench", "compare", "matrix", "report", "legacy",
         "speed", "new", "rerun")
