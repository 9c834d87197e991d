"""The ``lastmile`` command line: a thin Typer app over the library.

Each group of commands lives in its own module and registers itself on :data:`app`;
everything a command does can be done from Python.
"""

from __future__ import annotations

from lastmile.cli.app import app, main

# Importing the command modules registers their commands on ``app``.
from lastmile.cli import (  # noqa: F401  isort: skip
    demo_commands,
    io_commands,
    queue_commands,
    report_commands,
    timing_commands,
    why_commands,
)

__all__ = ["app", "main"]
