"""Poll one IMAP folder per source, read-only, by ``(UIDVALIDITY, last UID)``.

The folder is opened with EXAMINE (read-only) and bodies are fetched with
``BODY.PEEK[]``, so the monitor never sets ``\\Seen``, never deletes and does not
depend on flags at all: the cursor alone decides what is new. ``UID n:*`` always
returns the highest existing UID even when nothing is newer, so every UID is
filtered against the cursor. When UIDVALIDITY changes the whole folder is read
again; ingest dedupes by Message-ID.

Cursor shape: ``{"uidvalidity": int, "last_uid": int}``; while a first poll limited by
``first_poll`` has more than ``max_per_poll`` messages to take, also ``"since"`` (ISO time),
so the following polls keep skipping what is older.

First poll (no cursor): ``first_poll`` decides. Only messages whose INTERNALDATE is at
or after its start are taken (``UID SEARCH SINCE`` a day earlier, then each candidate's
INTERNALDATE); the cursor then stands at the folder's highest UID, so older mail stays
unread by the desk (and untouched in the mailbox).
"""

from __future__ import annotations

import imaplib
import logging
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from monitor.config import EmailSourceSettings
from monitor.mentions import MentionIn
from monitor.sources.base import (
    AccessTokens,
    Batch,
    Cursor,
    NeedsReauthorisation,
    PermanentSourceError,
    Quarantined,
    SourceError,
    TransientSourceError,
)
from monitor.sources.email.mime import MalformedEmail, to_mention
from monitor.sources.email.wire import (
    TRANSIENT_CODES,
    UID,
    auth_refused,
    check,
    imap_utf7,
    internal_date,
    logout,
    quote,
    uid_set,
)
from monitor.sources.first_poll import FirstPollRule
from responders import sasl

log = logging.getLogger(__name__)

CHUNK_SIZE = 200  # messages per UID FETCH
MAX_PER_POLL = 1000  # messages per fetch(); the rest comes next poll


@dataclass(frozen=True)
class _Fetched:
    uid: int
    raw: bytes
    internal_date: datetime | None


class ImapFolderSource:
    """One IMAP folder as a :class:`~monitor.sources.base.Source` named ``email:<folder>``."""

    def __init__(
        self,
        settings: EmailSourceSettings,
        folder: str,
        password: str | None,
        *,
        chunk_size: int = CHUNK_SIZE,
        max_per_poll: int = MAX_PER_POLL,
        ssl_context: ssl.SSLContext | None = None,
        tokens: AccessTokens | None = None,
    ) -> None:
        if chunk_size < 1 or max_per_poll < 1:
            raise ValueError("chunk_size and max_per_poll must be positive")
        self._settings = settings
        self._folder = folder
        self._password = password
        self._tokens = tokens
        self._chunk_size = chunk_size
        self._max_per_poll = max_per_poll
        self._ssl_context = ssl_context
        self._own = frozenset(a.strip().lower() for a in settings.own_addresses)

    @property
    def name(self) -> str:
        return f"email:{self._folder}"

    @property
    def folder(self) -> str:
        return self._folder

    def _since(self, cursor: Cursor | None, now: datetime) -> datetime | None:
        if cursor:
            saved = cursor.get("since")
            return datetime.fromisoformat(saved) if isinstance(saved, str) else None
        rule = self._settings.first_poll
        return FirstPollRule(rule.start, rule.backlog_hours).since(now)

    def fetch(self, cursor: Cursor | None, *, now: datetime) -> Batch:
        known_validity, last_uid = _read_cursor(cursor, self.name)
        since = self._since(cursor, now)
        with self._session(now) as imap:
            uidvalidity = self._examine(imap)
            if known_validity is not None and known_validity != uidvalidity:
                log.warning(
                    "%s: UIDVALIDITY changed %s -> %s, rescanning the folder",
                    self.name,
                    known_validity,
                    uidvalidity,
                )
            if known_validity != uidvalidity:
                last_uid = 0
            fresh = self._new_uids(imap, last_uid)
            wanted = self._dated_since(imap, fresh, since) if since and fresh else fresh
            uids = wanted[: self._max_per_poll]
            more = len(wanted) > len(uids)
            mentions: list[MentionIn] = []
            quarantined: list[Quarantined] = []
            for start in range(0, len(uids), self._chunk_size):
                chunk = uids[start : start + self._chunk_size]
                for item in self._fetch_chunk(imap, chunk):
                    self._convert(item, now, mentions, quarantined)
            if uids:
                last_uid = uids[-1]
            if since and fresh and not more:
                last_uid = fresh[-1]  # what is older than the start is skipped for good
        next_cursor: dict[str, Any] = {"uidvalidity": uidvalidity, "last_uid": last_uid}
        if since and more:
            next_cursor["since"] = since.isoformat()
        return Batch(mentions=mentions, next_cursor=next_cursor, quarantined=quarantined)

    # ------------------------------------------------------------------ internals

    def _convert(
        self,
        item: _Fetched,
        now: datetime,
        mentions: list[MentionIn],
        quarantined: list[Quarantined],
    ) -> None:
        try:
            mention = to_mention(
                item.raw,
                folder=self._folder,
                uid=item.uid,
                now=now,
                internal_date=item.internal_date,
                max_body_bytes=self._settings.max_body_bytes,
            )
        except MalformedEmail as exc:
            quarantined.append(Quarantined(self.name, str(exc), item.raw, str(item.uid)))
            return
        except Exception as exc:  # a parser bug must not block the messages behind it
            log.exception("%s: unexpected error parsing UID %s", self.name, item.uid)
            reason = f"unexpected parse error: {type(exc).__name__}: {exc}"
            quarantined.append(Quarantined(self.name, reason, item.raw, str(item.uid)))
            return
        if mention.author.handle in self._own:
            return  # our own mail (e.g. a copy of a reply): not a customer
        mentions.append(mention)

    @contextmanager
    def _session(self, now: datetime) -> Iterator[imaplib.IMAP4]:
        s = self._settings
        if not s.host:
            raise PermanentSourceError(f"{self.name}: sources.email.host is not set")
        if s.auth == "oauth2" and self._tokens is None:
            raise NeedsReauthorisation(
                f"{self.name}: no mailbox connected (run: complaint-monitor connect email)"
            )
        if s.auth == "password" and self._password is None:
            raise PermanentSourceError(
                f"{self.name}: no IMAP password (set the environment variable {s.password_env})"
            )
        where = f"{s.host}:{s.port}"
        imap: imaplib.IMAP4 | None = None
        try:
            imap = self._connect()
            self._login(imap, now)
            yield imap
        except SourceError:
            raise
        except imaplib.IMAP4.abort as exc:
            raise TransientSourceError(
                f"{self.name}: IMAP connection to {where} lost: {exc}"
            ) from exc
        except imaplib.IMAP4.error as exc:
            text = str(exc)
            if imap is not None and imap.state in {"NONAUTH", "LOGOUT"}:
                if any(code.decode() in text for code in TRANSIENT_CODES):
                    raise TransientSourceError(
                        f"{self.name}: {where} refused login: {text}"
                    ) from exc
                raise PermanentSourceError(
                    f"{self.name}: IMAP login as {s.username!r} at {where} failed: {text}"
                ) from exc
            raise TransientSourceError(f"{self.name}: IMAP error from {where}: {text}") from exc
        except ssl.SSLCertVerificationError as exc:
            raise PermanentSourceError(
                f"{self.name}: TLS certificate of {where} not trusted ({exc.verify_message}); "
                "set sources.email.ca_file"
            ) from exc
        except (OSError, EOFError) as exc:  # refused, reset, timeouts, TLS failures
            raise TransientSourceError(f"{self.name}: cannot talk to {where}: {exc!r}") from exc
        finally:
            if imap is not None:
                logout(imap)

    def _login(self, imap: imaplib.IMAP4, now: datetime) -> None:
        s = self._settings
        if self._tokens is None:
            imap.login(s.username, self._password or "")
            return
        # One retry with a fresh token: the stored one may have been revoked or have
        # expired early; a second refusal means the grant itself no longer works.
        for attempt in (1, 2):
            token = self._tokens.token(now=now)
            refused: list[str] = []

            def respond(
                challenge: bytes, token: str = token, refused: list[str] = refused
            ) -> bytes:
                if refused or challenge:  # the server's error continuation: answer empty
                    refused.append(sasl.error_detail(challenge))
                    return b""
                return sasl.initial_response(s.username, token).encode()

            try:
                imap.authenticate(sasl.MECHANISM, respond)
                return
            except imaplib.IMAP4.error as exc:
                if imap.state != "NONAUTH" or not auth_refused(str(exc)):
                    raise
                self._tokens.rejected(now=now)
                if attempt == 2:
                    detail = f" ({refused[0]})" if refused and refused[0] else ""
                    raise NeedsReauthorisation(
                        f"{self.name}: {s.host} refused the OAuth token for {s.username!r}"
                        f"{detail}: connect the mailbox again"
                    ) from exc

    def _connect(self) -> imaplib.IMAP4:
        s = self._settings
        timeout = s.timeout_seconds
        if s.tls == "ssl":
            return imaplib.IMAP4_SSL(
                s.host, s.port, ssl_context=self._tls_context(), timeout=timeout
            )
        imap = imaplib.IMAP4(s.host, s.port, timeout=timeout)
        if s.tls == "starttls":
            try:
                imap.starttls(ssl_context=self._tls_context())
            except imaplib.IMAP4.abort:
                logout(imap)
                raise
            except imaplib.IMAP4.error as exc:
                logout(imap)
                raise PermanentSourceError(
                    f"{self.name}: STARTTLS failed at {s.host}:{s.port}: {exc}"
                ) from exc
            except BaseException:
                logout(imap)
                raise
        return imap

    def _tls_context(self) -> ssl.SSLContext:
        if self._ssl_context is not None:
            return self._ssl_context
        return ssl.create_default_context(cafile=self._settings.ca_file)

    def _examine(self, imap: imaplib.IMAP4) -> int:
        typ, data = imap.select(quote(self._folder), readonly=True)
        if typ != "OK":
            detail = b" ".join(d for d in data if isinstance(d, bytes)).decode(errors="replace")
            if any(code.decode() in detail for code in TRANSIENT_CODES):
                raise TransientSourceError(f"{self.name}: cannot open folder now: {detail}")
            raise PermanentSourceError(
                f"{self.name}: IMAP folder {self._folder!r} cannot be opened "
                f"(does it exist?): {detail}"
            )
        _, values = imap.response("UIDVALIDITY")
        for value in values:
            if isinstance(value, bytes) and value.strip().isdigit():
                return int(value)
        raise PermanentSourceError(f"{self.name}: server sent no UIDVALIDITY for the folder")

    def _new_uids(self, imap: imaplib.IMAP4, last_uid: int) -> list[int]:
        typ, data = imap.uid("SEARCH", f"UID {last_uid + 1}:*")
        check(typ, data, "UID SEARCH")
        found: set[int] = set()
        for line in data:
            if isinstance(line, bytes):
                found.update(int(tok) for tok in line.split() if tok.isdigit())
        # "n:*" matches the highest UID even when it is below n: filter it out.
        return sorted(uid for uid in found if uid > last_uid)

    def _dated_since(self, imap: imaplib.IMAP4, uids: list[int], since: datetime) -> list[int]:
        """The UIDs whose INTERNALDATE is at or after ``since`` (SINCE is day-grained)."""
        day = (since - timedelta(days=1)).strftime("%d-%b-%Y")
        typ, data = imap.uid("SEARCH", f"UID {uids[0]}:* SINCE {day}")
        check(typ, data, "UID SEARCH SINCE")
        candidates = sorted(
            {
                int(t)
                for line in data
                if isinstance(line, bytes)
                for t in line.split()
                if t.isdigit()
            }
            & set(uids)
        )
        kept: list[int] = []
        for start in range(0, len(candidates), self._chunk_size):
            chunk = candidates[start : start + self._chunk_size]
            typ, data = imap.uid("FETCH", uid_set(chunk), "(UID INTERNALDATE)")
            check(typ, data, "UID FETCH INTERNALDATE")
            for line in data:
                head = line[0] if isinstance(line, tuple) else line
                if not isinstance(head, bytes) or (match := UID.search(head)) is None:
                    continue
                when = internal_date(head)
                if int(match.group(1)) in chunk and (when is None or when >= since):
                    kept.append(int(match.group(1)))
        return sorted(set(kept))

    def _fetch_chunk(self, imap: imaplib.IMAP4, uids: list[int]) -> list[_Fetched]:
        typ, data = imap.uid("FETCH", uid_set(uids), "(UID INTERNALDATE BODY.PEEK[])")
        check(typ, data, "UID FETCH")
        wanted = set(uids)
        out: list[_Fetched] = []
        for item in data:
            if not isinstance(item, tuple) or len(item) < 2:
                continue
            head, body = item[0], item[1]
            match = UID.search(head)
            if match is None or int(match.group(1)) not in wanted:
                continue  # an unsolicited FETCH (e.g. a flag change) or a stray message
            out.append(_Fetched(int(match.group(1)), bytes(body), internal_date(head)))
        out.sort(key=lambda f: f.uid)
        return out


def from_settings(
    settings: EmailSourceSettings,
    secret: Callable[[str | None], str | None],
    tokens: AccessTokens | None = None,
) -> list[ImapFolderSource]:
    """One source per configured folder; ``secret`` maps an env var name to its value;
    ``tokens`` is the mailbox grant when ``auth`` is ``oauth2``.

    Whether ``sources.email`` is enabled is the caller's (wiring's) decision.
    """
    password = secret(settings.password_env) if settings.auth == "password" else None
    return [
        ImapFolderSource(settings, folder, password, tokens=tokens) for folder in settings.folders
    ]


__all__ = ["ImapFolderSource", "from_settings", "imap_utf7"]


def _read_cursor(cursor: Cursor | None, name: str) -> tuple[int | None, int]:
    if not cursor:
        return None, 0
    validity: Any = cursor.get("uidvalidity")
    last: Any = cursor.get("last_uid")
    if isinstance(validity, int) and isinstance(last, int) and last >= 0:
        return validity, last
    log.warning("%s: unusable cursor %r, rescanning the folder", name, dict(cursor))
    return None, 0
