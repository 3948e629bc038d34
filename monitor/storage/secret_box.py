"""Secrets the app must read back, sealed at rest.

Passwords and API tokens are stored as hashes (:mod:`monitor.staff.accounts`), but a webhook
signing secret cannot be: every delivery signs with the secret itself. So it is stored
*sealed*: encrypted and authenticated with Fernet (AES-128-CBC plus HMAC-SHA256, from
the ``cryptography`` package), under a key derived with HKDF-SHA256 from the session
secret (``server.session_secret_env``, which ``serve`` already requires). A copy of
the database alone no longer lets anyone forge signed webhooks.

Values stored before sealing existed are plain text without the prefix; :meth:`open`
still reads them, ``serve`` seals them at start-up and the webhook worker seals any
it meets.

Changing the session secret makes sealed values unreadable (:class:`SecretUnreadable`,
with a message that says so): ``serve`` reports them at start-up, and their deliveries
are retried on the schedule, unsent, until the previous secret is restored or the
subscriptions are created again.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SEALED_PREFIX = "sealed:v1:"
_PURPOSE = b"complaint-monitor: webhook signing secrets, v1"


class SecretUnreadable(ValueError):
    """A sealed value that the current key cannot open (message is operator-facing)."""


class SecretBox:
    """Seals and opens short secrets with a key derived from ``key_material``."""

    def __init__(self, key_material: str) -> None:
        if not key_material:
            raise ValueError("a SecretBox needs key material (the session secret)")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(
            key_material.encode()
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    @staticmethod
    def is_sealed(stored: str) -> bool:
        return stored.startswith(SEALED_PREFIX)

    def seal(self, plain: str) -> str:
        token = self._fernet.encrypt(plain.encode()).decode("ascii")
        return SEALED_PREFIX + token

    def open(self, stored: str) -> str:
        """The plain secret; values stored before sealing existed come back as they are."""
        if not self.is_sealed(stored):
            return stored
        try:
            return self._fernet.decrypt(stored[len(SEALED_PREFIX) :].encode("ascii")).decode()
        except (InvalidToken, UnicodeError) as exc:
            raise SecretUnreadable(
                "the stored signing secret cannot be opened with the current key: "
                "the session secret (server.session_secret_env) changed since it was "
                "sealed; delete the subscription and create it again"
            ) from exc
