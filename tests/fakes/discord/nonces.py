"""Discord's nonce check on Create Message, as documented.

"nonce: Can be used to verify a message was sent (up to 25 characters). Value will appear in the
Message Create event." — "enforce_nonce: If true and nonce is present, it will be checked for
uniqueness in the past few minutes. If another message was created by the same author with the same
nonce, that message will be returned and no new message will be created."

Only Create Message takes them (Execute Webhook, and so interaction followups, has no nonce). The
fake remembers each (author, nonce) for ``window`` seconds of its clock; tests shorten or age it to
play a repeat that comes after Discord forgot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .payloads import JSON

DEFAULT_WINDOW = 300.0  # "the past few minutes"


def nonce_of(body: JSON) -> str | None:
    """The body's nonce as Discord echoes it (a string, whether it was sent as one or as a number)."""
    value = body.get("nonce")
    return None if value is None else str(value)


@dataclass
class NonceBook:
    clock: Callable[[], float]
    window: float = DEFAULT_WINDOW
    seen: dict[tuple[int, str], tuple[int, float]] = field(default_factory=dict)
    repeats: list[str] = field(default_factory=list)  # nonces answered with the message they made

    def repeat_of(self, author_id: int, body: JSON) -> int | None:
        """The message an enforced nonce already made within the window, if any."""
        nonce = nonce_of(body)
        if nonce is None or not body.get("enforce_nonce"):
            return None
        found = self.seen.get((author_id, nonce))
        if found is None or self.clock() - found[1] > self.window:
            return None
        self.repeats.append(nonce)
        return found[0]

    def remember(self, author_id: int, body: JSON, message_id: int) -> None:
        nonce = nonce_of(body)
        if nonce is not None:
            self.seen[(author_id, nonce)] = (message_id, self.clock())

    def forget(self) -> None:
        """As if the window had passed for every nonce seen so far."""
        self.seen.clear()
