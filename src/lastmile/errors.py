"""One exception type for everything a user can get wrong.

Every entry point (library, command line, service) raises :class:`LastmileError` for bad input,
with a message that says what is wrong and a ``hint`` that says what to do next. The command
line prints it as one line and exits with ``exit_code``; it never shows a traceback for it.

>>> err = LastmileError("no such file: x.csv", hint="check the path")
>>> str(err)
'no such file: x.csv (check the path)'
>>> err.exit_code
2
"""

from __future__ import annotations


class LastmileError(Exception):
    """A problem with the user's input or settings, explained in one line."""

    exit_code: int = 2

    def __init__(self, message: str, *, hint: str | None = None, exit_code: int | None = None):
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message
