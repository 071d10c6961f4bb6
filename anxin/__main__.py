"""``python -m anxin``: the same as the ``anxin`` command."""

from anxin.cli import run_cli

run_cli()
