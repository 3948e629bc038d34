"""The text part of the score: a hashed n-gram linear model plus rule cues, in numpy.

A :class:`TextModel` holds one weight column per *head* over the hashed feature space
of :mod:`monitor.scoring.features` (the IDF-like column scale already folded in):

- ``complaint_x`` / ``complaint_email``: logistic regression, complaint vs not, for
  short posts (X, DMs) and for long texts (email) respectively;
- ``severity_x`` / ``severity_email``: ridge regression on the 0-4 severity scale.

Scoring is batched. Per batch, each text is split into tokens; each distinct token is
looked up once in a per-instance table holding its word hash, its number of character
n-grams and the sum of its character-n-gram weights for every head. Unigram and
bigram weights are gathered in numpy. No sparse matrix is built, which is what makes
this faster than VADER on one core. Loading the model file is an explicit call
(:func:`load_model`); nothing is read at import.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from monitor.scoring import cues as cue_rules
from monitor.scoring import features as fx

HEADS = ("complaint_x", "complaint_email", "severity_x", "severity_email")
SEVERITY_LABELS = ("no complaint", "no explicit reproach", "disapproval", "accusation", "blame")
# What the text part's reason says it found, per severity label. The points come from
# the complaint likelihood (weighted up by severity), so each wording names the finding
# that earns them: a plain request for help is "a complaint reporting a problem", not
# "no explicit reproach". Stored TextScores keep the label; the wording is derived.
FINDINGS = {
    "no complaint": "little sign of a complaint",
    "no explicit reproach": "complaint reporting a problem",
    "disapproval": "complaint with disapproval",
    "accusation": "complaint with an accusation",
    "blame": "complaint laying blame",
}
LONG_CHANNELS = frozenset({"email"})
SHIPPED_MODEL = "model.npz"
FORMAT_VERSION = 1
_TABLE_SIZE = 200_000
TEXT_POINTS_MAX = 60  # a certain, blaming complaint earns this much from the words
CUE_POINTS_MAX = 15

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


class ModelFileError(Exception):
    """The model file is missing, unreadable or of another format version."""


@dataclass(frozen=True)
class TextScore:
    """What the words alone say. Small and serialisable: ingest stores it on a mention."""

    complaint: float  # probability 0-1 that this is a complaint
    severity: float  # 0-4: 0 none, 1 no explicit reproach, 2 disapproval, 3 accusation, 4 blame
    label: str  # one of SEVERITY_LABELS
    points: int  # model points, 0..TEXT_POINTS_MAX
    cues: tuple[tuple[str, int], ...] = ()  # (reason wording, points) per intensity cue

    @property
    def cue_points(self) -> int:
        return sum(p for _, p in self.cues)

    @property
    def total_points(self) -> int:
        return self.points + self.cue_points

    def reasons(self) -> list[str]:
        out = [f"text: {FINDINGS.get(self.label, self.label)} (+{self.points})"]
        out.extend(f"text: {wording} (+{points})" for wording, points in self.cues if points)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": FORMAT_VERSION,
            "complaint": round(self.complaint, 4),
            "severity": round(self.severity, 3),
            "label": self.label,
            "points": self.points,
            "cues": [[w, p] for w, p in self.cues],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TextScore:
        return cls(
            complaint=float(data["complaint"]),
            severity=float(data["severity"]),
            label=str(data["label"]),
            points=int(data["points"]),
            cues=tuple((str(w), int(p)) for w, p in data.get("cues", ())),
        )


class TextScorer(Protocol):
    """Anything that scores texts like :class:`TextModel` (the student, or a tier on it)."""

    def text_scores(self, texts: Sequence[str], channels: Sequence[str]) -> list[TextScore]: ...


def text_points(complaint: float, severity: float) -> int:
    """Model points: likelihood of a complaint, weighted up by how severe it reads."""
    return round(TEXT_POINTS_MAX * complaint * (0.5 + 0.5 * severity / 4.0))


def severity_label(complaint: float, severity: float) -> str:
    if complaint < 0.5:
        return SEVERITY_LABELS[0]
    return SEVERITY_LABELS[min(4, max(1, round(severity)))]


def make_text_score(
    complaint: float, raw_severity: float, found: Sequence[cue_rules.Cue]
) -> TextScore:
    severity = complaint * min(4.0, max(1.0, raw_severity))
    cue_list: list[tuple[str, int]] = []
    budget = CUE_POINTS_MAX
    for cue in found:
        pts = min(budget, round(cue.base_points * complaint))
        if pts > 0:
            cue_list.append((cue.label, pts))
            budget -= pts
    return TextScore(
        complaint=complaint,
        severity=severity,
        label=severity_label(complaint, severity),
        points=text_points(complaint, severity),
        cues=tuple(cue_list),
    )


@dataclass
class TextModel:
    """Weights (DIM x heads, scale folded in) and biases; scores texts in batches."""

    weights: F32
    bias: F32
    meta: dict[str, Any] = field(default_factory=dict)
    _ids: dict[str, int] = field(default_factory=dict, repr=False)
    _hash: npt.NDArray[np.uint64] = field(init=False, repr=False)
    _ngrams: F64 = field(init=False, repr=False)
    _lex: F64 = field(init=False, repr=False)
    _char: F64 = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.weights.shape != (fx.DIM, len(HEADS)) or self.bias.shape != (len(HEADS),):
            raise ModelFileError(
                f"model weights have shape {self.weights.shape}, expected ({fx.DIM}, {len(HEADS)})"
            )
        self._hash = np.zeros(_TABLE_SIZE + 1, dtype=np.uint64)
        self._ngrams = np.zeros(_TABLE_SIZE + 1, dtype=np.float64)
        self._lex = np.zeros(_TABLE_SIZE + 1, dtype=np.float64)
        self._char = np.zeros((_TABLE_SIZE + 1, len(HEADS)), dtype=np.float64)

    def _add(self, tok: str) -> int:
        idx = len(self._ids) + 1
        canon = fx.canonical(tok)
        grams = fx.char_grams(canon)
        self._hash[idx] = fx.crc(canon)
        self._ngrams[idx] = len(grams)
        self._lex[idx] = 1.0 if fx.is_negative(canon) else 0.0
        if grams:
            self._char[idx] = self.weights[grams].sum(axis=0, dtype=np.float64)
        self._ids[tok] = idx
        return idx

    def raw_outputs(self, texts: Sequence[str]) -> tuple[F64, list[str], list[list[str]]]:
        """Linear outputs (n x heads), plus each text's normalised form and tokens."""
        normed = [fx.normalise(t) for t in texts]
        toks = [fx.TOKEN.findall(t) for t in normed]
        if len(self._ids) + sum(map(len, toks)) > _TABLE_SIZE:
            self._ids.clear()  # bounded memory on endless streams
        get = self._ids.get
        add = self._add
        flat = [get(t) or add(t) for doc in toks for t in doc]
        n = len(texts)
        ids = np.asarray(flat, dtype=np.int64)
        rows = np.repeat(np.arange(n, dtype=np.int64), np.fromiter(map(len, toks), np.int64, n))
        hashes = self._hash[ids]
        bi, bi_rows = fx.bigram_columns(hashes, rows)
        uni = (hashes & np.uint64(fx.MASK)).astype(np.int64)
        heads = len(HEADS)
        lex = np.bincount(rows, weights=self._lex[ids], minlength=n)
        word_sum = np.zeros((n, heads), dtype=np.float64)
        char_sum = np.zeros((n, heads), dtype=np.float64)
        for h in range(heads):
            col = self.weights[:, h]
            word_sum[:, h] = (
                np.bincount(rows, weights=col[uni], minlength=n)
                + np.bincount(bi_rows, weights=col[bi], minlength=n)
                + lex * float(col[fx.LEX_COLUMN])
            )
            char_sum[:, h] = np.bincount(rows, weights=self._char[ids, h], minlength=n)
        word_n = np.bincount(rows, minlength=n) + np.bincount(bi_rows, minlength=n) + lex
        char_n = np.bincount(rows, weights=self._ngrams[ids], minlength=n)
        out = fx.HALF * (
            word_sum / np.sqrt(np.maximum(word_n, 1))[:, None]
            + char_sum / np.sqrt(np.maximum(char_n, 1.0))[:, None]
        )
        return out + self.bias.astype(np.float64), normed, toks

    def text_scores(self, texts: Sequence[str], channels: Sequence[str]) -> list[TextScore]:
        """Score a batch; ``channels[i]`` picks the short-text or the long-text heads."""
        if len(texts) != len(channels):
            raise ValueError("texts and channels differ in length")
        if not texts:
            return []
        out, normed, toks = self.raw_outputs(texts)
        return scores_from_outputs(out, texts, channels, normed, toks)

    def save(self, path: Path) -> None:
        meta = np.frombuffer(json.dumps(self.meta).encode("utf-8"), dtype=np.uint8)
        np.savez_compressed(
            path,
            version=np.asarray(FORMAT_VERSION),
            heads=np.asarray(HEADS),
            weights=self.weights.astype(np.float16),
            bias=self.bias.astype(np.float32),
            meta=meta,
        )


def scores_from_outputs(
    out: F64,
    texts: Sequence[str],
    channels: Sequence[str],
    normed: Sequence[str],
    toks: Sequence[Sequence[str]],
) -> list[TextScore]:
    """TextScores from head outputs (n x heads, as :meth:`TextModel.raw_outputs`)."""
    scores: list[TextScore] = []
    for i, text in enumerate(texts):
        long = channels[i] in LONG_CHANNELS
        logit = float(out[i, 1 if long else 0])
        p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, logit))))
        sev = float(out[i, 3 if long else 2])
        found = cue_rules.find_cues(text, normed[i], set(toks[i]))
        scores.append(make_text_score(p, sev, found))
    return scores


def load_model(path: str | Path | None = None) -> TextModel:
    """Load a model file written by ``train-scorer``; ``None`` means the shipped model."""
    try:
        if path is None:
            ref = resources.files("monitor.scoring").joinpath(SHIPPED_MODEL)
            with resources.as_file(ref) as real, np.load(real) as npz:
                return _from_npz(npz, str(real))
        with np.load(Path(path)) as npz:
            return _from_npz(npz, str(path))
    except (OSError, ValueError, KeyError) as exc:
        raise ModelFileError(f"cannot load scoring model {path or SHIPPED_MODEL}: {exc}") from None


def _from_npz(npz: Any, origin: str) -> TextModel:
    version = int(npz["version"])
    if version != FORMAT_VERSION or tuple(str(h) for h in npz["heads"]) != HEADS:
        raise ModelFileError(f"{origin}: model format {version} is not supported")
    meta = json.loads(bytes(npz["meta"]).decode("utf-8")) if "meta" in npz else {}
    return TextModel(
        weights=np.asarray(npz["weights"], dtype=np.float32),
        bias=np.asarray(npz["bias"], dtype=np.float32),
        meta=dict(meta),
    )
