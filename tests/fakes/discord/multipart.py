"""Checks a multipart (file upload) body the way Discord reads it, against the spec where it says.

``validate.check_request`` checks ``payload_json`` against the operation's JSON schema; an upload adds
what that cannot see:

* the spec's own ``multipart/form-data`` schema, validated with the file parts in it (Create Message's
  declares ``files[0]`` … ``files[9]``; Create Thread's declares none, so there only the JSON is
  checked against its multipart schema);
* Discord's rules for the parts (its docs, not the spec): a file part is named ``files[n]``, at most
  10 of them, and an ``attachments`` entry that names an upload by index (``{"id": 0}``) must have a
  part with that index — Discord answers 50035 otherwise.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from jsonschema import Draft202012Validator

from .records import UploadedFile
from .validate import ATTACHMENTS_MAX, SPEC_URI, Problem, _deepest, _describe, _pointer, _registry, load_spec

FILE_FIELD = re.compile(r"^files\[(\d+)\]$")
UPLOAD_INDEX_MAX = 10  # attachment ids below this name an upload by its index; larger ones are snowflakes


@functools.cache
def _multipart_validator(method: str, route: str) -> Draft202012Validator | None:
    spec = load_spec()
    operation = spec["paths"].get(route, {}).get(method.lower(), {})
    if "multipart/form-data" not in operation.get("requestBody", {}).get("content", {}):
        return None
    ref = f"{SPEC_URI}#/" + _pointer(
        "paths", route, method.lower(), "requestBody", "content", "multipart/form-data"
    )
    return Draft202012Validator({"$ref": ref + "/schema"}, registry=_registry())


def has_multipart_schema(method: str, route: str) -> bool:
    return _multipart_validator(method, route) is not None


def _message_of(route: str, body: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The message inside the body: Create Thread nests it under ``message``."""
    nested = body.get("message")
    if route.endswith("/threads") and isinstance(nested, dict):
        return nested, ("message",)
    return body, ()


def multipart_problems(method: str, route: str, body: Any, files: list[UploadedFile]) -> list[Problem]:
    """What Discord would refuse in an upload: part names, the attachments they back, the schema."""
    problems: list[Problem] = []
    indexes: set[int] = set()
    for upload in files:
        match = FILE_FIELD.match(upload.field)
        if match is None:
            problems.append(Problem((upload.field,), "a file part must be named files[n]", "multipart"))
            continue
        indexes.add(int(match.group(1)))
    if len(files) > ATTACHMENTS_MAX or any(i >= ATTACHMENTS_MAX for i in indexes):
        problems.append(
            Problem(("files",), f"at most {ATTACHMENTS_MAX} files, files[0]…files[9]", "multipart")
        )
    payload = body if isinstance(body, dict) else {}
    message, where = _message_of(route, payload)
    for i, entry in enumerate(message.get("attachments") or []):
        raw = entry.get("id") if isinstance(entry, dict) else None
        try:
            index = int(raw) if raw is not None else None
        except (TypeError, ValueError):
            index = None
        if index is not None and index < UPLOAD_INDEX_MAX and index not in indexes:
            problems.append(
                Problem(
                    (*where, "attachments", i, "id"),
                    f"names upload files[{index}], which was not sent",
                    "multipart",
                )
            )
    validator = _multipart_validator(method, route)
    if validator is not None:
        instance = dict(
            payload, **{upload.field: "<binary>" for upload in files if FILE_FIELD.match(upload.field)}
        )
        for error in validator.iter_errors(instance):
            best = _deepest(error)
            problems.append(Problem(tuple(best.absolute_path), _describe(best), "schema"))
    return problems
