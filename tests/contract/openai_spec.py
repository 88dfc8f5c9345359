"""The OpenAI ``/videos`` spec as a check on every exchange with the fake reseller.

``check_exchange(fake)`` validates what the adapter sent to a ``FakeOpenAIVideos`` (and every Video
object it accepted) against ``tests/specs/openai-videos.openapi.json``: the create form as an object
against ``CreateVideoMultipartBody`` with the reseller extras (``watermark``, ``private``,
``character_*``, ``seconds`` 10/15) allowed and nothing else, the remix body against
``CreateVideoRemixBody`` plus ``model``, paths against the spec's ``/videos`` templates, and
responses against ``VideoResource`` (status word relaxed for the reseller vocabularies) or
``ErrorResponse``. Both the OpenAI suite and the shared contract suite run it at teardown.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from bot.providers.http import USER_AGENT
from tests.fakes.openai_videos import FakeOpenAIVideos

SPEC_NAME = "openai-videos.openapi.json"
SPEC_PATH = Path(__file__).resolve().parents[1] / "specs" / SPEC_NAME
SPEC_URI = "urn:openai-videos-openapi"


@functools.cache
def load_spec() -> dict[str, Any]:
    """The parsed spec. Missing is an error: a contract test that silently stops checking proves nothing."""
    with SPEC_PATH.open(encoding="utf-8") as fh:
        spec: dict[str, Any] = json.load(fh)
    return spec


@functools.cache
def _registry() -> Registry[Any]:
    resource: Resource[Any] = Resource.from_contents(load_spec(), default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    return registry


def _absolute(schema: Any) -> Any:
    """Point a copied schema's local ``$ref``s at the spec document."""
    if isinstance(schema, dict):
        return {
            k: (SPEC_URI + v if k == "$ref" and isinstance(v, str) and v.startswith("#") else _absolute(v))
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_absolute(v) for v in schema]
    return schema


def _component(name: str) -> dict[str, Any]:
    return copy.deepcopy(load_spec()["components"]["schemas"][name])


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(_absolute(schema), registry=_registry())


@functools.cache
def create_validator() -> Draft202012Validator:
    """``CreateVideoMultipartBody`` with the reseller's extras, nothing else, and ``size`` always sent (C6)."""
    schema = _component("CreateVideoMultipartBody")
    props = schema["properties"]
    # The spec's VideoSeconds is 4/8/12; resellers of the "reverse" family take 10/15
    # (docs/vendors.md, "OpenAI-compatible /v1/videos", C3).
    props["seconds"] = {"type": "string", "pattern": "^[1-9][0-9]*$"}
    props["watermark"] = {"enum": ["true", "false"]}
    props["private"] = {"enum": ["true", "false"]}
    props["character_url"] = {"type": "string", "pattern": "^https?://"}
    props["character_timestamps"] = {"type": "string", "pattern": r"^\d+(\.\d+)?,\d+(\.\d+)?$"}
    schema["additionalProperties"] = False
    schema["required"] = ["model", "prompt", "seconds", "size"]
    return _validator(schema)


@functools.cache
def remix_validator() -> Draft202012Validator:
    schema = _component("CreateVideoRemixBody")
    schema["properties"]["model"] = {"$ref": "#/components/schemas/VideoModel"}
    schema["additionalProperties"] = False
    schema["required"] = ["prompt", "model"]
    return _validator(schema)


@functools.cache
def video_validator(strict_status: bool) -> Draft202012Validator:
    schema = _component("VideoResource")
    if not strict_status:  # a reseller vocabulary ("submitted", "success", ...)
        schema["properties"]["status"] = {"type": "string", "minLength": 1}
    return _validator(schema)


@functools.cache
def error_validator() -> Draft202012Validator:
    return _validator(_component("ErrorResponse"))


def spec_route(method: str, path: str) -> str:
    """The spec's path template for an adapter path (the spec's paths are relative to ``/v1``)."""
    assert path.startswith("/v1/"), path
    rel = path.removeprefix("/v1")
    for template, ops in load_spec()["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, rel) and method.lower() in ops:
            return str(template)
    raise AssertionError(f"{method} {path} is not an operation of the spec")


def _errors(validator: Draft202012Validator, instance: Any) -> list[str]:
    return [
        f"{'.'.join(map(str, e.absolute_path)) or '<body>'}: {e.message}"
        for e in validator.iter_errors(instance)
    ]


def check_exchange(fake: FakeOpenAIVideos) -> list[str]:
    """Spec problems in what the adapter sent to ``fake`` and in the Video objects it got back."""
    problems: list[str] = []
    strict_words = set(_component("VideoStatus")["enum"])
    for rec in fake.requests:
        if rec.user_agent != USER_AGENT or rec.route == "cdn":
            continue  # strictness probes use another User-Agent; the CDN is not the API
        where = f"{rec.method} {rec.path}"
        route = spec_route(rec.method, rec.path)
        if route == "/videos" and rec.method == "POST":
            assert rec.form is not None, f"{where}: not multipart ({rec.content_type})"
            assert rec.content_type and rec.content_type.startswith("multipart/form-data; boundary=")
            instance: dict[str, Any] = dict(rec.form)
            for name, part in rec.files.items():
                assert part.filename, f"{where}: file part {name} has no filename"
                instance[name] = "<binary>"  # format: binary
            problems += [f"{where} form {p}" for p in _errors(create_validator(), instance)]
        elif route == "/videos/{video_id}/remix":
            assert rec.content_type == "application/json", where
            problems += [f"{where} body {p}" for p in _errors(remix_validator(), rec.json)]
        else:
            assert rec.method == "GET" and rec.text == "", where
            assert set(rec.query) <= {"variant"}, where
        body = rec.response_json
        if not isinstance(body, dict) or rec.status is None:
            continue
        if rec.status >= 400:
            problems += [f"{where} error answer {p}" for p in _errors(error_validator(), body)]
        elif route != "/videos/{video_id}/content" and (not rec.forced or body.get("object") == "video"):
            obj = dict(body["data"]) if isinstance(body.get("data"), dict) else dict(body)
            if "task_id" in obj and "id" not in obj:
                obj["id"] = obj.pop("task_id")
            strict = obj.get("status") in strict_words
            problems += [f"{where} Video {p}" for p in _errors(video_validator(strict), obj)]
    return problems
