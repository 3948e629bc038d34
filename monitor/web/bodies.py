"""JSON request bodies holding a lone surrogate (``"\\ud800"``) are refused with 422.

Such a string is valid JSON but not Unicode: it passes validation, then breaks whatever
encodes it next (the database driver, orjson, the 422 answer quoting it back), which
was a 500 on every endpoint. This pure ASGI middleware reads a JSON body once, refuses
it with FastAPI's own 422 shape (``{"detail": [{"type", "loc", "msg", "input"}]}``) if
any string in it (key or value) holds a lone surrogate, and otherwise hands the same
bytes on. A body that is not JSON at all is left to FastAPI (422 ``json_invalid``).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Location = tuple[str | int, ...]


def _lone_surrogate(text: str) -> int | None:
    for ch in text:
        if "\ud800" <= ch <= "\udfff":
            return ord(ch)
    return None


def find_lone_surrogate(value: Any, where: Location = ("body",)) -> tuple[Location, int] | None:
    """Where the first lone surrogate is (FastAPI's ``loc``) and its code point, or None."""
    if isinstance(value, str):
        code = _lone_surrogate(value)
        return (where, code) if code is not None else None
    items: list[tuple[str | int, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            code = _lone_surrogate(key)
            if code is not None:
                return (*where, key.encode("utf-8", "backslashreplace").decode()), code
            items.append((key, item))
    elif isinstance(value, list):
        items = list(enumerate(value))
    for key, item in items:
        found = find_lone_surrogate(item, (*where, key))
        if found is not None:
            return found
    return None


def refusal(where: Location, code: int) -> bytes:
    detail = [
        {
            "type": "string_unicode",
            "loc": list(where),
            "msg": f"String should be valid Unicode: lone surrogate U+{code:04X}",
            "input": None,
        }
    ]
    return json.dumps({"detail": detail}, ensure_ascii=True).encode()


class RejectLoneSurrogates:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        content_type = (
            Headers(scope=scope).get("content-type", "") if scope["type"] == "http" else ""
        )
        if "json" not in content_type:
            await self.app(scope, receive, send)
            return
        chunks, more, tail = [], True, None
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                tail = message
                break
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        found = _scan(body)
        if found is not None:
            await _send_422(send, refusal(*found))
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return tail or await receive()

        await self.app(scope, replay, send)


def _scan(body: bytes) -> tuple[Location, int] | None:
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return None  # not JSON (or not UTF-8): FastAPI answers json_invalid
    return find_lone_surrogate(parsed)


async def _send_422(send: Send, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 422, "headers": headers})
    await send({"type": "http.response.body", "body": body})
