"""Checking a message against the mended specification (``specs.load_spec``) it belongs to.

The node checks every inbound body against the request schema of its path before reading it, and
every body it sends (responses and callbacks) against the schema of where it goes, so a message
that leaves here is valid by the same rules the partner's validator applies. The schemas are used
as published, ``$ref``s and all (``referencing``), with the OpenAPI 3.0 dialect of
``openapi-schema-validator`` and its format checks (date-time, …).
"""

import functools
from typing import Any

from openapi_schema_validator import OAS30Validator, oas30_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from reliefledger.interop.specs import load_spec


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


@functools.cache
def _registry(spec: str) -> Registry:
    return Registry().with_resource(f"urn:reliefledger:{spec}", Resource.from_contents(load_spec(spec), default_specification=DRAFT4))


@functools.cache
def _validator(spec: str, pointer: str) -> OAS30Validator:
    return OAS30Validator({"$ref": f"urn:reliefledger:{spec}#/{pointer}"}, registry=_registry(spec), format_checker=oas30_format_checker)


def list_request_errors(spec: str, path: str, body: Any, media_type: str = "application/json") -> list[str]:
    """Why ``body`` is not a valid request to ``path`` (POST), as messages; empty when it is."""
    pointer = "/".join(map(_escape, ["paths", path, "post", "requestBody", "content", media_type, "schema"]))
    return _format(_validator(spec, pointer), body)


def list_response_errors(spec: str, path: str, status: str, body: Any, method: str = "post") -> list[str]:
    """Why ``body`` is not a valid ``status`` response (or the ``default`` one) of ``path``."""
    return _format(_validator(spec, _find_response_schema(spec, path, status, method)), body)


@functools.cache
def _find_response_schema(spec: str, path: str, status: str, method: str) -> str:
    """The pointer to the schema of a response (found once: every answer the node sends is checked)."""
    responses = load_spec(spec)["paths"][path][method]["responses"]
    key = status if status in responses else "default"
    response = responses[key]
    if "$ref" in response:
        return response["$ref"].removeprefix("#/") + "/content/application~1json/schema"
    return "/".join(map(_escape, ["paths", path, method, "responses", key, "content", "application/json", "schema"]))


def list_schema_errors(spec: str, component: str, body: Any) -> list[str]:
    """Why ``body`` is not a valid ``components/schemas/<component>``."""
    return _format(_validator(spec, f"components/schemas/{_escape(component)}"), body)


def _format(validator: OAS30Validator, body: Any) -> list[str]:
    errors = []
    for error in sorted(validator.iter_errors(body), key=lambda item: list(item.absolute_path))[:10]:
        where = "/".join(str(part) for part in error.absolute_path) or "(body)"
        detail = error.message if len(error.message) <= 300 else error.message[:300] + "…"
        if error.context:  # a oneOf/anyOf: the closest branch's first reason says more
            best = min(error.context, key=lambda item: len(list(item.absolute_path)) * -1)
            detail += f" ({best.message[:200]})"
        errors.append(f"{where}: {detail}")
    return errors
