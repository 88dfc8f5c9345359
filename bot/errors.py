"""The one user-facing error type.

Anything raised as a ``UserError`` is safe to show to a member as it is: it never carries a raw
exception text, a key or a token. Everything else is an internal fault and reaches members only as
a friendly message with a reference id (see ``cogs/errors.py``).
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the member (or an admin) can act on, phrased for them."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(UserError):
    """A request option is not allowed: names the field, what was given and what is allowed."""

    def __init__(self, field: str, problem: str, allowed: str) -> None:
        super().__init__(f"`{field}` {problem}. Allowed: {allowed}.")
        self.field = field
        self.allowed = allowed


class InsufficientCredits(UserError):
    """The member's balance does not cover the cost of what they asked for."""

    def __init__(self, balance: int, cost: int) -> None:
        super().__init__(
            f"Not enough credits: this costs {cost} and your balance is {balance}. "
            "Ask a server manager for more."
        )
        self.balance = balance
        self.cost = cost
