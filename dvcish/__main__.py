"""Entry point for ``python -m dvcish``."""

from dvcish.cli.main import run

run()
