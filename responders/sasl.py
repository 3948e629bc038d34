"""SASL XOAUTH2, the OAuth 2.0 login of Google and Microsoft mail (IMAP and SMTP).

The initial client response is ``user=<user>^Aauth=Bearer <token>^A^A`` (``^A`` = 0x01),
base64-encoded by the protocol library. A server that refuses the token answers with a
continuation carrying a base64 JSON error (``{"status":"401", ...}``); the client must
then send an empty response, after which the server fails the command. See Google's
"OAuth 2.0 Mechanism" and Microsoft's "Authenticate an IMAP, POP or SMTP connection
using OAuth".
"""

from __future__ import annotations

import base64
import contextlib
import json

MECHANISM = "XOAUTH2"


def initial_response(user: str, access_token: str) -> str:
    """The XOAUTH2 initial client response, before base64."""
    if "\x01" in user or "\x01" in access_token:
        raise ValueError("an XOAUTH2 user or token must not contain 0x01")
    return f"user={user}\x01auth=Bearer {access_token}\x01\x01"


def error_detail(challenge: bytes) -> str:
    """The server's error continuation, decoded for a log line (never the token)."""
    raw = challenge
    with contextlib.suppress(ValueError):
        raw = base64.b64decode(challenge, validate=True)
    try:
        body = json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")[:200]
    if isinstance(body, dict):
        return ", ".join(f"{k}={v}" for k, v in body.items() if k in ("status", "schemes"))
    return str(body)[:200]
