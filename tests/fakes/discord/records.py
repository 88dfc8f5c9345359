"""What the fake Discord remembers: requests, violations, messages, interactions, gateway frames.

These are plain dataclasses so tests can assert on them directly ("what a member sees" is a
``StoredMessage``; "what the bot sent" is a ``RecordedRequest``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .payloads import JSON, MessageFlag


@dataclass
class UploadedFile:
    """One ``files[n]`` part of a multipart body."""

    field: str
    filename: str | None
    content_type: str | None
    size: int
    data: bytes = dataclasses.field(repr=False, default=b"")


@dataclass
class RecordedRequest:
    """One HTTP request the bot made, with the answer it got."""

    index: int
    method: str
    path: str
    route: str | None  # the spec's path template, None when the fake does not implement it
    params: dict[str, str]
    query: dict[str, str]
    json: Any  # JSON body, or the parsed ``payload_json`` part of a multipart body
    files: list[UploadedFile]
    headers: dict[str, str]  # without Authorization
    timestamp: float  # wall clock
    at: float  # the fake's clock (monotonic unless replaced)
    status: int = 0
    response: Any = None
    interaction_id: int | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error_code(self) -> int | None:
        return self.response.get("code") if isinstance(self.response, dict) else None


@dataclass(frozen=True)
class Violation:
    """Something Discord would refuse or the fake cannot answer; ``assert_no_violations`` lists them."""

    method: str
    path: str
    route: str | None
    field: str
    message: str
    source: str  # "schema" | "limit" | "protocol" | "unimplemented" | "fake-error"
    request: RecordedRequest | None = dataclasses.field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        return f"[{self.source}] {self.method} {self.route or self.path} {self.field}: {self.message}"


@dataclass
class MessageEdit:
    at: float
    body: Any
    via: str  # "channel" | "webhook" | "callback"


@dataclass
class StoredMessage:
    """A message as members see it (``data`` is exactly what GET /channels/../messages/.. returns)."""

    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    data: JSON
    created_at: float
    via: str  # "channel" | "callback" | "followup" | "member"
    interaction_id: int | None = None
    ephemeral: bool = False
    deleted: bool = False
    edits: list[MessageEdit] = field(default_factory=list)
    files: dict[int, bytes] = field(default_factory=dict, repr=False)
    nonce: str | None = None  # echoed in the create answer and MESSAGE_CREATE, not in later reads

    @property
    def content(self) -> str:
        return self.data.get("content") or ""

    @property
    def embeds(self) -> list[JSON]:
        return self.data.get("embeds") or []

    @property
    def components(self) -> list[JSON]:
        return self.data.get("components") or []

    @property
    def attachments(self) -> list[JSON]:
        return self.data.get("attachments") or []

    @property
    def flags(self) -> int:
        return int(self.data.get("flags") or 0)

    @property
    def loading(self) -> bool:
        """True while a deferred response still shows "<bot> is thinking…"."""
        return bool(self.flags & MessageFlag.LOADING)

    @property
    def mentions(self) -> list[int]:
        """User ids that were actually pinged (after ``allowed_mentions``)."""
        return [int(u["id"]) for u in self.data.get("mentions") or []]


@dataclass
class FakeInteraction:
    """Handle for an interaction the fake dispatched; the server updates it as the bot answers."""

    id: int
    token: str
    type: int
    application_id: int
    guild_id: int
    channel_id: int
    user_id: int
    payload: JSON
    created_at: float  # wall clock (matches the snowflake)
    dispatched_at: float  # the fake's clock; deadlines count from here
    attachment_size_limit: int
    name: str | None = None  # command name (slash / context menu)
    custom_id: str | None = None  # component / modal
    message_id: int | None = None  # the message a component sits on
    response_type: int | None = None
    acked_at: float | None = None
    original_message_id: int | None = None
    response_data: JSON | None = None  # the callback's ``data`` (the modal, for type 9)
    followup_ids: list[int] = field(default_factory=list)

    @property
    def acked(self) -> bool:
        return self.response_type is not None

    @property
    def modal(self) -> JSON | None:
        return self.response_data if self.response_type == 9 else None

    @property
    def ack_latency(self) -> float | None:
        return None if self.acked_at is None else self.acked_at - self.dispatched_at


@dataclass
class GatewayFrame:
    direction: str  # "in" (bot -> fake) | "out" (fake -> bot)
    op: int
    t: str | None
    s: int | None
    d: Any
    at: float


@dataclass
class FailureRule:
    """The next ``remaining`` calls to ``route`` answer ``error`` (``FakeDiscord.fail_next``)."""

    method: str | None
    route: str
    remaining: int
    error: tuple[int, int, str]


@dataclass
class RateLimitRule:
    method: str | None
    route: str
    remaining: int
    retry_after: float
    is_global: bool


class ApiError(Exception):
    """An error answer in Discord's shape: ``{"message": ..., "code": ..., "errors"?: ...}``."""

    def __init__(self, status: int, code: int, message: str, errors: JSON | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> JSON:
        data: JSON = {"message": self.message, "code": self.code}
        if self.errors:
            data["errors"] = self.errors
        return data


UNKNOWN_CHANNEL = (404, 10003, "Unknown Channel")
UNKNOWN_GUILD = (404, 10004, "Unknown Guild")
UNKNOWN_MESSAGE = (404, 10008, "Unknown Message")
UNKNOWN_USER = (404, 10013, "Unknown User")
UNKNOWN_WEBHOOK = (404, 10015, "Unknown Webhook")
UNKNOWN_COMMAND = (404, 10063, "Unknown application command")
UNKNOWN_INTERACTION = (404, 10062, "Unknown interaction")
ALREADY_ACKNOWLEDGED = (400, 40060, "Interaction has already been acknowledged.")
ENTITY_TOO_LARGE = (413, 40005, "Request entity too large")
MISSING_ACCESS = (403, 50001, "Missing Access")
CANNOT_EDIT_OTHERS = (403, 50005, "Cannot edit a message authored by another user")
EMPTY_MESSAGE = (400, 50006, "Cannot send an empty message")
MISSING_PERMISSIONS = (403, 50013, "Missing Permissions")
INVALID_WEBHOOK_TOKEN = (401, 50027, "Invalid Webhook Token")
INVALID_FORM_BODY = (400, 50035, "Invalid Form Body")
INVALID_JSON = (400, 50109, "The request body contains invalid JSON.")
SERVER_ERROR = (500, 0, "500: Internal Server Error")


def fail(error: tuple[int, int, str], errors: JSON | None = None) -> ApiError:
    return ApiError(*error, errors=errors)
