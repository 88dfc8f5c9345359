"""Why ``migrate --to`` stopped, as one line and an exit status: its own module because every part of
the copy (the plan, the value conversion, the check, the copy itself) raises it, and ``main`` turns it
into what the command prints and returns."""

from __future__ import annotations

REFUSED, FAILED = 2, 1  # exit statuses: refused before anything was written / the copy was rolled back


class MigrateError(Exception):
    """The copy was refused (``exit_code`` 2, nothing touched) or rolled back (1); one line, no secret."""

    def __init__(self, message: str, exit_code: int = REFUSED) -> None:
        super().__init__(message)
        self.exit_code = exit_code
