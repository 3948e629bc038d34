"""An in-memory index of the organisation's previous replies, for the template guard.

Near-duplicates are found with MinHash over word shingles and banded LSH (Broder 1997;
Leskovec, Rajaraman & Ullman, *Mining of Massive Datasets*, ch. 3):

- a whole reply is hashed over word trigrams (32 hash functions = 16 bands of 2), each
  sentence over word bigrams (16 = 8 bands of 2); two texts agree on a band with
  probability s² for Jaccard similarity s, so the share k/b of agreeing bands estimates
  s as sqrt(k/b);
- each table keeps, per band, a sorted array of band keys (two 32-bit minima packed in
  one uint64) and the row each came from: a look-up is one binary search per band, so
  its cost hardly grows with the number of replies. New replies go to a small unsorted
  "delta" scanned linearly, merged into the sorted arrays once it grows;
- rows are numbered by a sequence; only the newest ``capacity`` replies are live (older
  rows are skipped at look-up and dropped at the next merge), so memory stays bounded.

Allowed shared text (an incident's paragraph, sent to everyone affected) is blanked out
of a reply before it is indexed (:func:`blank_shared`), as the guard blanks it out of a
draft: only what each reply adds is compared.

Text is normalised first (lower case; URLs, @handles, email addresses and numbers become
placeholders) so a template filled in with another customer's name or order number
still matches. The index is built once per process (``ensure_built``) and then follows
the ``replies`` table by id (``catch_up``); it lives on ``app.state``, never in a global.
"""

from __future__ import annotations

import re
import threading
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.models import Reply

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
_PRIME = np.uint64((1 << 61) - 1)
_MASK = np.uint64(0xFFFFFFFF)
_URL = re.compile(r"(?:https?://|www\.)\S+", re.I)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_HANDLE = re.compile(r"@\w{1,50}")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?|<\w+>")
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|$)", re.M)
MIN_SENTENCE_WORDS = 4
MIN_REPLY_WORDS = 6
BUCKET_PEEK = 64  # rows read from one bucket; enough to find the best, and bounded


def words(text: str) -> list[str]:
    """Normalised tokens: lower case, placeholders for URLs, emails, handles, numbers."""
    text = _URL.sub(" <url> ", text)
    text = _EMAIL.sub(" <email> ", text)
    text = _HANDLE.sub(" <user> ", text)
    tokens = _WORD.findall(text.lower())
    return ["<n>" if t.isdigit() else t.replace("'", "") for t in tokens]


def sentences(text: str) -> list[tuple[int, int, str]]:
    """(start, end, text) of each sentence or line, offsets into ``text``."""
    found = []
    for m in _SENTENCE.finditer(text):
        start, end = m.start(), m.end()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            found.append((start, end, text[start:end]))
    return found


SHARED_SIMILARITY = 0.85  # a sentence this like one of the shared text's counts as it


def _sentence_key(sentence: str) -> frozenset[str]:
    return frozenset(words(sentence))


def blank_shared(text: str, shared: Iterable[str]) -> str:
    """``text`` with every sentence taken from ``shared`` replaced by spaces.

    Offsets are kept (highlights still point into the original). A sentence counts as
    taken when its normalised words are (nearly) those of a shared sentence: staff may
    fix a typo or drop a word from the paragraph and it is still the shared text.
    """
    keys = [k for para in shared for *_, s in sentences(para) if len(k := _sentence_key(s)) >= 3]
    if not keys:
        return text
    out = list(text)
    for start, end, sentence in sentences(text):
        mine = _sentence_key(sentence)
        if not mine:
            continue
        for key in keys:
            if len(mine & key) / len(mine | key) >= SHARED_SIMILARITY:
                out[start:end] = " " * (end - start)
                break
    return "".join(out)


def _shingles(tokens: Sequence[str], n: int) -> list[int]:
    n = min(n, len(tokens))
    grams = {" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}
    return [zlib.crc32(g.encode()) for g in grams]


@dataclass(frozen=True)
class Match:
    similarity: float  # estimated Jaccard similarity of the shingle sets, 0-1
    seq: int  # row of the best match
    uses: int  # roughly how many live rows are that similar (capped by BUCKET_PEEK)


class MinHashTable:
    """Banded MinHash LSH over rows identified by a sequence number (not thread-safe)."""

    def __init__(self, *, bands: int, shingle: int, seed: int, merge_at: int = 2000) -> None:
        rng = np.random.default_rng(seed)
        perms = bands * 2
        self.bands, self.shingle, self.merge_at = bands, shingle, merge_at
        self._a = rng.integers(1, 1 << 31, size=perms, dtype=np.uint64)
        self._b = rng.integers(0, 1 << 31, size=perms, dtype=np.uint64)
        self._keys: list[U64] = [np.empty(0, np.uint64) for _ in range(bands)]
        self._rows: list[I64] = [np.empty(0, np.int64) for _ in range(bands)]
        self._delta_keys: list[U64] = []
        self._delta_rows: list[int] = []
        self._stacked: tuple[U64, I64] | None = None

    def band_keys(self, hashes: Sequence[int]) -> U64:
        h = np.asarray(hashes, dtype=np.uint64)[:, None]
        sig = (((h * self._a + self._b) % _PRIME) & _MASK).min(axis=0)
        pairs = sig.reshape(self.bands, 2)
        keys: U64 = (pairs[:, 0] << np.uint64(32)) | pairs[:, 1]
        return keys

    def keys_for(self, tokens: Sequence[str]) -> U64 | None:
        hashes = _shingles(tokens, self.shingle)
        return self.band_keys(hashes) if hashes else None

    def add_batch(self, seqs: Sequence[int], token_lists: Sequence[Sequence[str]]) -> None:
        """Add many rows at once: one vectorised MinHash over all their shingles."""
        hashes: list[int] = []
        starts: list[int] = []
        for tokens in token_lists:
            starts.append(len(hashes))
            hashes += _shingles(tokens, self.shingle)
        if not hashes:
            return
        h = np.asarray(hashes, dtype=np.uint64)[:, None]
        mins = (((h * self._a + self._b) % _PRIME) & _MASK).astype(np.uint64)
        sig = np.minimum.reduceat(mins, np.asarray(starts), axis=0).reshape(-1, self.bands, 2)
        keys: U64 = (sig[:, :, 0] << np.uint64(32)) | sig[:, :, 1]
        self._delta_keys.append(keys)
        self._delta_rows.extend(seqs)
        self._stacked = None

    def __len__(self) -> int:
        return len(self._rows[0]) + len(self._delta_rows)

    def needs_merge(self) -> bool:
        """The delta has grown big enough that scanning it costs more than merging."""
        return len(self._delta_rows) >= max(self.merge_at, len(self._rows[0]) // 8)

    def _delta(self) -> tuple[U64, I64]:
        if self._stacked is None:
            self._stacked = (
                np.vstack(self._delta_keys).astype(np.uint64),
                np.asarray(self._delta_rows, dtype=np.int64),
            )
        return self._stacked

    def merge(self, oldest_live: int) -> None:
        """Fold the delta into the sorted arrays, dropping rows older than ``oldest_live``."""
        if not self._delta_rows and (not len(self._rows[0]) or self._rows[0].min() >= oldest_live):
            return
        dk, dr = self._delta() if self._delta_rows else (np.empty((0, self.bands)), None)
        dr = dr if dr is not None else np.empty(0, np.int64)
        for j in range(self.bands):
            keys = np.concatenate([self._keys[j], dk[:, j].astype(np.uint64)])
            rows = np.concatenate([self._rows[j], dr])
            live = rows >= oldest_live
            keys, rows = keys[live], rows[live]
            order = np.argsort(keys, kind="stable")
            self._keys[j], self._rows[j] = keys[order], rows[order]
        self._delta_keys, self._delta_rows, self._stacked = [], [], None

    def query(self, keys: U64, *, oldest_live: int) -> Match | None:
        # Each band's matching rows, ascending by sequence: a bucket of the sorted arrays
        # is in insertion order (stable sort), and so is the delta.
        buckets: list[I64] = []
        if self._delta_rows:
            stacked, delta_rows = self._delta()
            delta_hits = stacked == keys
        for j in range(self.bands):
            lo = int(np.searchsorted(self._keys[j], keys[j], "left"))
            hi = int(np.searchsorted(self._keys[j], keys[j], "right"))
            if self._delta_rows:
                delta = delta_rows[delta_hits[:, j]]
                buckets.append(np.concatenate([self._rows[j][lo:hi], delta]))
            else:
                buckets.append(self._rows[j][lo:hi])
        live = [b[np.searchsorted(b, oldest_live) :] for b in buckets]
        live = [b for b in live if len(b)]
        if not live:
            return None
        # Candidates: the newest rows of every bucket (all rows of a small one), then an
        # exact count of the bands each shares with the query, by binary search.
        candidates = np.unique(np.concatenate([b[-BUCKET_PEEK:] for b in live]))
        counts = np.zeros(len(candidates), dtype=np.int64)
        for b in live:
            pos = np.minimum(np.searchsorted(b, candidates), len(b) - 1)
            counts += b[pos] == candidates
        k = int(counts.max())
        best = int(candidates[np.flatnonzero(counts == k)[-1]])  # the newest of the best
        uses = int(np.count_nonzero(counts == k))
        if k == self.bands:  # identical shingles: every bucket holds all the copies
            uses = max(uses, min(len(b) for b in live))
        return Match(similarity=float(np.sqrt(k / self.bands)), seq=best, uses=uses)


class ReplyIndex:
    """Previous replies (whole and per sentence), the newest ``capacity`` of them."""

    def __init__(self, *, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self.replies = MinHashTable(bands=16, shingle=3, seed=1)
        self.sentences = MinHashTable(bands=8, shingle=2, seed=2)
        self.high_water = 0  # the largest reply id indexed
        self.built = False
        self._seq = 0
        self._lock = threading.RLock()

    @property
    def size(self) -> int:
        return min(self._seq, self.capacity)

    def _oldest_live(self) -> int:
        return max(0, self._seq - self.capacity)

    def add_many(self, rows: Iterable[tuple[int, str]], *, batch: int = 2000) -> int:
        """Index (reply id, body) pairs in id order; returns how many were added."""
        added = 0
        pending: list[tuple[int, str]] = []
        with self._lock:
            for row in rows:
                pending.append(row)
                if len(pending) >= batch:
                    added += self._add_batch(pending)
                    pending = []
            added += self._add_batch(pending)
            self._merge()
        return added

    def _add_batch(self, rows: list[tuple[int, str]]) -> int:
        reply_seqs: list[int] = []
        reply_tokens: list[list[str]] = []
        sentence_seqs: list[int] = []
        sentence_tokens: list[list[str]] = []
        for reply_id, body in rows:
            seq = self._seq
            self._seq += 1
            self.high_water = max(self.high_water, reply_id)
            tokens: list[str] = []
            for _, _, sentence in sentences(body):
                st = words(sentence)
                tokens += st
                if len(st) >= MIN_SENTENCE_WORDS:
                    sentence_seqs.append(seq)
                    sentence_tokens.append(st)
            if len(tokens) >= MIN_REPLY_WORDS:
                reply_seqs.append(seq)
                reply_tokens.append(tokens)
        self.replies.add_batch(reply_seqs, reply_tokens)
        self.sentences.add_batch(sentence_seqs, sentence_tokens)
        if self.sentences.needs_merge() or self.replies.needs_merge():
            self._merge()
        return len(rows)

    def _merge(self) -> None:
        oldest = self._oldest_live()
        self.replies.merge(oldest)
        self.sentences.merge(oldest)

    def nearest_reply(self, text: str) -> Match | None:
        tokens = [t for _, _, sentence in sentences(text) for t in words(sentence)]
        if len(tokens) < MIN_REPLY_WORDS:
            return None
        keys = self.replies.keys_for(tokens)
        if keys is None:
            return None
        with self._lock:
            return self.replies.query(keys, oldest_live=self._oldest_live())

    def nearest_sentence(self, sentence: str) -> Match | None:
        tokens = words(sentence)
        if len(tokens) < MIN_SENTENCE_WORDS:
            return None
        keys = self.sentences.keys_for(tokens)
        if keys is None:
            return None
        with self._lock:
            return self.sentences.query(keys, oldest_live=self._oldest_live())

    # --- following the database ---------------------------------------------------
    def ensure_built(self, session: Session, *, chunk: int = 5000) -> None:
        """Load the newest ``capacity`` replies, once per process."""
        with self._lock:
            if self.built:
                return
            newest = session.scalars(
                select(Reply.id).order_by(Reply.id.desc()).offset(self.capacity - 1).limit(1)
            ).first()
            self.high_water = (newest - 1) if newest else 0
            self.built = True
        self.catch_up(session, chunk=chunk)

    def catch_up(self, session: Session, *, chunk: int = 5000) -> int:
        """Index replies stored since the last call (by any process); returns the count."""
        total = 0
        with self._lock:  # one catcher at a time, or two would index the same rows
            while True:
                rows = (
                    session.execute(
                        select(Reply.id, Reply.body, Reply.shared_text)
                        .where(Reply.id > self.high_water)
                        .order_by(Reply.id)
                        .limit(chunk)
                    )
                    .tuples()
                    .all()
                )
                total += self.add_many(
                    (rid, blank_shared(body, [shared]) if shared else body)
                    for rid, body, shared in rows
                )
                if len(rows) < chunk:
                    return total
