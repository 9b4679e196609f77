"""The published DCI and G2P Connect specifications, loaded with their known defects mended.

The YAML files are shipped unchanged in ``data/standards/dci/`` (``SOURCES.md`` says where each
comes from). As published, four do not validate as OpenAPI documents and several reject messages
their authors plainly meant to allow, so ``load_spec`` mends them at load time — every mend a
no-op on a file that is already right, each listed in ``PATCHES`` and in docs/interop.md. The
server's own checks, the tests' validators and the fuzzer all use the same mended documents: a
message is valid here exactly when it is valid there.
"""

import copy
import functools
from importlib import resources
from typing import Any, Iterator

import yaml

SPEC_FILES = {
    "social": "social_api_v1.0.0.yaml",
    "ibr": "ibr_api_v1.0.0.yaml",
    "crvs": "crvs_api_v1.0.0.yaml",
    "registry_core": "registry_core_api_v1.0.0.yaml",
    "authz": "authz_core_api_v1.0.0.yaml",
    "jwks": "jwks_core_api_v1.0.0.yaml",
    "disburse": "g2p_disburse_core_api_v1.0.0.yaml",
    "mapper": "g2p_mapper_core_api_v1.0.0.yaml",
}
"""Our short name of each specification, and its file."""

PATCHES = (
    "info.version restored where the published text glued it onto the description (social)",
    "servers replaced by the base path this node serves the specification at",
    "components.securitySchemas renamed securitySchemes (ibr); the bearer scheme declared where operations use it but none is declared (crvs)",
    "the JWK schema nested inside JWKSResponse moved to components.schemas (jwks)",
    "'type: enum' read as 'type: string' (registry_core)",
    "responses that $ref a schema wrapped as a JSON response of that schema (ibr)",
    "multipart bodies' allOf[FileInfo, {action}] flattened into one schema, the stray quote in 'on-search'' removed (disburse)",
    "DisburseRequest requires 'disbursements' (published: 'disburemsents')",
    "oneOf lists whose branches overlap (integer and number; two plain strings) read as anyOf, so an integer or a string value is valid",
    "the token endpoint needs no bearer token: the client authenticates with its id and secret (RFC 6749 §4.4); it may answer 400 and 401 (RFC 6749 §5.2) with the HttpErrorResponse body",
    "header actions copied from another operation completed with the operation's own (mapper sync/update, sync/unlink, sync/resolve take "
    "update, unlink, resolve and answer on-update …; disburse sync/disburse takes disburse and answers on-disburse, txn/status takes txn-status, "
    "txn/on-status and sync/txn/status's answer carry txn-on-status); the published values stay valid",
)
"""What ``load_spec`` mends, in words (docs/interop.md repeats it)."""

BEARER = {"type": "http", "scheme": "bearer", "bearerFormat": "jwt"}


def read_published(name: str) -> dict[str, Any]:
    """A specification exactly as published (parsed, unmended)."""
    text = resources.files("reliefledger").joinpath("data", "standards", "dci", SPEC_FILES[name]).read_text(encoding="utf-8")
    return yaml.safe_load(text)


@functools.cache
def _load_mended(name: str) -> dict[str, Any]:
    return mend(read_published(name))


def load_spec(name: str, base_path: str = "/") -> dict[str, Any]:
    """A mended specification (a fresh copy) whose server is ``base_path``."""
    document = copy.deepcopy(_load_mended(name))
    document["servers"] = [{"url": base_path}]
    return document


def mend(document: dict[str, Any]) -> dict[str, Any]:
    """Apply ``PATCHES`` to a parsed specification, in place; answer it."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    document.setdefault("info", {}).setdefault("version", "1.0.0")
    document["servers"] = [{"url": "/"}]
    if "securitySchemas" in components:
        components["securitySchemes"] = components.pop("securitySchemas")
    operations = [operation for item in document.get("paths", {}).values() for operation in item.values() if isinstance(operation, dict)]
    if any("Authorization" in requirement for operation in operations for requirement in operation.get("security") or []):
        components.setdefault("securitySchemes", {}).setdefault("Authorization", dict(BEARER))
    jwks = schemas.get("JWKSResponse")
    if jwks and "components" in jwks:
        schemas["JWK"] = jwks.pop("components")["schemas"]["JWK"]
        jwks["properties"]["keys"]["items"] = {"$ref": "#/components/schemas/JWK"}
    for schema in _walk(document):
        if schema.get("type") == "enum" and "enum" in schema:
            schema["type"] = "string"
    for path, item in document.get("paths", {}).items():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            _mend_responses(operation)
            _flatten_multipart(operation, schemas)
            if path.endswith("/oauth2/client/token"):
                operation["security"] = []
                for code in ("400", "401"):
                    operation["responses"].setdefault(code, {"$ref": "#/components/responses/HttpErrorResponse"})
    _complete_actions(document)
    disburse = schemas.get("DisburseRequest")
    if disburse and "disburemsents" in disburse.get("required", []):
        disburse["required"] = ["disbursements" if name == "disburemsents" else name for name in disburse["required"]]
    for schema in _walk(document):
        if _has_overlapping_branches(schema.get("oneOf")):
            schema["anyOf"] = schema.pop("oneOf")
    return document


OWN_ACTIONS = {
    "/mapper/sync/link": ("link", "on-link"), "/mapper/sync/update": ("update", "on-update"), "/mapper/sync/unlink": ("unlink", "on-unlink"),
    "/mapper/sync/resolve": ("resolve", "on-resolve"), "/disburse/sync/disburse": ("disburse", "on-disburse"),
    "/disburse/sync/txn/status": ("txn-status", "txn-on-status"), "/disburse/txn/status": ("txn-status", None), "/disburse/txn/on-status": ("txn-on-status", None),
}
"""Operations of the G2P documents whose header action was copied from another operation: the
action of the request, and of the synchronous answer, each was plainly meant to carry."""


def _complete_actions(document: dict[str, Any]) -> None:
    for path, (request_action, response_action) in OWN_ACTIONS.items():
        operation = document.get("paths", {}).get(path, {}).get("post")
        if operation is None:
            continue
        content = operation["requestBody"]["content"]
        enums = [_header_action(content["application/json"]["schema"])]
        if "multipart/form-data" in content:
            enums.append(content["multipart/form-data"]["schema"].get("properties", {}).get("action"))
        for enum in enums:
            if enum is not None and "enum" in enum and request_action not in enum["enum"]:
                enum["enum"].append(request_action)
        answer = operation["responses"].get("default", {}).get("content", {}).get("application/json", {}).get("schema")
        enum = _header_action(answer) if response_action is not None and answer is not None else None
        if enum is not None and "enum" in enum and response_action not in enum["enum"]:
            enum["enum"].append(response_action)


def _header_action(schema: dict[str, Any]) -> dict[str, Any] | None:
    """The ``action`` schema of an envelope's header (``allOf[header schema, {action: enum}]``)."""
    parts = schema.get("properties", {}).get("header", {}).get("allOf", [])
    return next((part["properties"]["action"] for part in parts if "action" in part.get("properties", {})), None)


def _walk(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def _mend_responses(operation: dict[str, Any]) -> None:
    for code, response in list(operation.get("responses", {}).items()):
        if "$ref" in response and "/schemas/" in response["$ref"]:
            operation["responses"][code] = {"description": response["$ref"].rsplit("/", 1)[-1],
                                            "content": {"application/json": {"schema": {"$ref": response["$ref"]}}}}


def _flatten_multipart(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    multipart = operation.get("requestBody", {}).get("content", {}).get("multipart/form-data")
    if not multipart or "allOf" not in multipart["schema"] or "FileInfo" not in schemas:
        return
    flat = copy.deepcopy(schemas["FileInfo"])
    for part in multipart["schema"]["allOf"]:
        for name, value in part.get("properties", {}).items():
            flat["properties"][name] = {**flat["properties"].get(name, {}), **value}
    action = flat["properties"].get("action", {})
    if "enum" in action:
        action["enum"] = [value.rstrip("'") for value in action["enum"]]
    multipart["schema"] = flat


def _has_overlapping_branches(branches: Any) -> bool:
    """True for a oneOf no value can satisfy as meant: an integer is also a number, and two
    plain-string references both match any string."""
    if not isinstance(branches, list):
        return False
    types = [branch.get("type") for branch in branches if isinstance(branch, dict)]
    references = [branch.get("$ref", "") for branch in branches if isinstance(branch, dict)]
    plain_strings = sum(reference.endswith(("TransactionId", "/transaction_id", "/correlation_id")) for reference in references)
    return ("integer" in types and "number" in types) or plain_strings >= 2


def describe_operation(name: str, path: str) -> str:
    """What the node's own API description says of an operation it serves from a specification:
    where its bodies are defined (this API's generated description does not repeat them)."""
    return (f"Request and response bodies as `POST {path}` of `{SPEC_FILES[name]}` (shipped in `reliefledger/data/standards/dci/`, "
            "mended as docs/interop.md lists): an envelope `{signature, header, message}` with `Authorization: Bearer <token>` "
            "from `POST /oauth2/client/token`. The body is checked against that specification, not against a schema here.")
