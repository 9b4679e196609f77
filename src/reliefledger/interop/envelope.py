"""The parts of a DCI or G2P Connect exchange every endpoint shares: reading a body (JSON, or the
multipart file form the specifications also allow), the acknowledgement, the HTTP error body,
headers of our responses and callbacks, times in RFC 3339.

HTTP statuses, the same everywhere: 401 (no, expired or forged bearer token) and 403 (a scope the
token lacks) with the ``HttpErrorResponse`` body; 415 for a media type the operation does not
take; 400 with an ``ERR`` acknowledgement (or, on a synchronous operation, a rejected response
envelope) when the body is not valid by the specification; 200 with ``ACK`` when the request is
taken, or with ``NACK``/``ERR`` and the specification's error code when a valid message cannot be
(a bad signature, another sender's id, a callback address not agreed at onboarding, an encrypted
message, a message id used before).
"""

import datetime
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from reliefledger.ledger.errors import LedgerInputError
from reliefledger.node.api import read_bounded_body

VERSION = "1.0.0"


@dataclass(frozen=True)
class ReadBody:
    """A request body as read: the JSON value and the media type it came in."""

    value: Any
    media_type: str


class BodyError(Exception):
    """A body that cannot be read; ``status`` 400 or 415."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def format_time(time_ms: int) -> str:
    """RFC 3339 in UTC with milliseconds, as the specifications' ``date-time`` wants."""
    return datetime.datetime.fromtimestamp(time_ms / 1000, datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id() -> str:
    """A fresh message or correlation id."""
    return secrets.token_hex(12)


BODY_BYTES_MAX = 1024 * 1024
"""The largest request body taken (a search, a subscription, a status request: far smaller)."""
NESTING_MAX = 64
"""The deepest nesting of arrays and objects taken: the specifications' messages nest less than 16."""
STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)


def parse_json(data: bytes) -> Any:
    """A JSON document that can be checked and recorded, or ``BodyError``: not JSON, nested deeper
    than ``NESTING_MAX``, or holding text that is not Unicode (a lone surrogate escape)."""
    depth = deepest = 0
    for byte in STRING.sub(b"", data):
        if byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif byte in b"]}":
            depth -= 1
    if deepest > NESTING_MAX:
        raise BodyError(400, f"the body nests deeper than {NESTING_MAX} levels")
    try:
        value = json.loads(data)
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise BodyError(400, "the body holds text that is not Unicode (a lone surrogate)") from None
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise BodyError(400, f"the body is not JSON: {error}") from None
    return value


async def read_body(request: Request, *, multipart: bool = True) -> ReadBody:
    """The JSON body, or the multipart form (``action``, ``fileName`` — a file holding the JSON
    envelope —, ``fileFormat``) as a dict; ``BodyError`` for anything else (413 above
    ``BODY_BYTES_MAX``)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in ("application/json", "multipart/form-data") or (media_type == "multipart/form-data" and not multipart):
        raise BodyError(415, f"this operation takes application/json{' or multipart/form-data' if multipart else ''}, not {media_type or 'nothing'}")
    try:
        data = await read_bounded_body(request, BODY_BYTES_MAX)
    except LedgerInputError as error:
        raise BodyError(413, str(error)) from None
    request._body = data  # Starlette reads the form from the body already read
    if media_type == "application/json":
        return ReadBody(parse_json(data), media_type)
    try:  # the multipart form
        form = await request.form()
    except Exception as error:  # python-multipart's errors are several types; any of them is a bad form
        raise BodyError(400, f"the multipart form cannot be read: {error}") from None
    value: dict[str, Any] = {}
    for name, item in form.multi_items():
        value[name] = (await item.read()) if hasattr(item, "read") else item
    return ReadBody(value, media_type)


def build_ack(status: str, correlation_id: str, time_ms: int, error: tuple[str, str] | None = None) -> dict[str, Any]:
    """An acknowledgement: ``ACK``, ``NACK`` or ``ERR`` (with its code and message)."""
    message: dict[str, Any] = {"ack_status": status, "timestamp": format_time(time_ms), "correlation_id": correlation_id}
    if error is not None:
        message["error"] = {"code": error[0], "message": error[1][:999]}
    return {"message": message}


def http_error(status: int, code: str, message: str) -> JSONResponse:
    """The ``HttpErrorResponse`` body with its status."""
    return JSONResponse({"errors": [{"code": code, "message": message[:999]}]}, status_code=status)


def build_callback_header(action: str, status: str, sender_id: str, receiver_id: str, time_ms: int, *, total_count: int = 0, completed_count: int | None = None,
                          reason: tuple[str | None, str] | None = None) -> dict[str, Any]:
    """The header of a callback or a synchronous response (``MsgCallbackHeader``)."""
    header: dict[str, Any] = {"version": VERSION, "message_id": new_id(), "message_ts": format_time(time_ms), "action": action, "status": status,
                              "sender_id": sender_id, "receiver_id": receiver_id, "total_count": total_count,
                              "completed_count": total_count if completed_count is None else completed_count, "is_msg_encrypted": False}
    if reason is not None:
        if reason[0] is not None:
            header["status_reason_code"] = reason[0]
        header["status_reason_message"] = reason[1][:999]
    return header


def build_request_header(action: str, sender_id: str, receiver_id: str, time_ms: int, total_count: int, sender_uri: str | None = None) -> dict[str, Any]:
    """The header of a message we send as a request (``MsgHeader``; also ``on-subscribe``)."""
    header: dict[str, Any] = {"version": VERSION, "message_id": new_id(), "message_ts": format_time(time_ms), "action": action, "sender_id": sender_id,
                              "receiver_id": receiver_id, "total_count": total_count, "is_msg_encrypted": False}
    if sender_uri is not None:
        header["sender_uri"] = sender_uri
    return header
