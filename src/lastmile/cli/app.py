"""The Typer application object and the error boundary shared by every command."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from lastmile.errors import LastmileError

app = typer.Typer(
    name="lastmile",
    help="Find, explain and prevent failure of the last mile in event logs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)

console = Console(stderr=False, highlight=False)
err_console = Console(stderr=True, highlight=False)

F = TypeVar("F", bound=Callable[..., Any])


def friendly(func: F) -> F:
    """Turn a :class:`LastmileError` into one red line on stderr and a non-zero exit code.

    So too an operating-system error the command did not foresee (an output folder that
    cannot be made, a full disk): one line naming the file, no traceback.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LastmileError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", markup=True, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except OSError as exc:
            where = f": {exc.filename}" if exc.filename else ""
            err_console.print(f"[bold red]error:[/] {escape(str(exc.strerror or exc) + where)}",
                              soft_wrap=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def main() -> None:
    """Entry point of the ``lastmile`` script."""
    app(prog_name="lastmile")
    sys.exit(0)
