"""Students that are not linear in n-grams, against the shipped linear one (issue 16).

    /work/venv-train/bin/python bench/student_variants.py --data ../shared/datasets
        [--fold 0] [--threads 2] [--epochs 4]

Needs the ``[train]`` extra (torch, the encoder). One fold of the 3-fold split that
``score_eval.py --folds 3`` uses: the probe teacher's heads are fitted on the training
folds of x-ci and cesamard only, and label those texts and the unlabelled general text
(the same distillation text as ``train-scorer``). Each student learns the teacher's
outputs; the held-out third of x-ci is only scored. Printed per student: complaint
ROC-AUC, severity Spearman (raw severity head) and, in brackets, the correlation of
its complaint / severity output with the teacher's on the held-out tweets:

- ``linear``: the shipped kind (ridge over the hashed n-grams and word columns);
- ``hidden H``: fastText-style, a sum of per-n-gram vectors (H wide) through a ReLU
  into the four heads, beside a linear part, 30 % n-gram dropout;
- ``cnn``: word embeddings (64) through convolutions of width 1-3 (128 filters each,
  max-pooled), 30 % dropout;
- the project's t0.5 model (label heads + linear student) and that model with the CNN
  blended into its heads at 0.2 / 0.3 / 0.4.

Scores are printed after every epoch; they are read off the held-out fold, so the best
epoch or share is an upper bound, not a tuned figure.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.scoring import data as ds
from monitor.scoring import features as fx
from monitor.scoring.student import LOGIT_CLIP, fit_student_heads
from monitor.scoring.text_model import LONG_CHANNELS
from monitor.scoring.train import (
    TrainParams,
    aux_sets,
    distil_texts,
    fit,
    fit_aux,
    fit_word_columns,
    general_cooccurrence,
    subset,
)

MAX_WORDS = 64


class Fold:
    """Texts, teacher targets and loss weights of one fold, and the scoring of students."""

    def __init__(self, data: Path, fold: int, threads: int) -> None:
        from monitor.scoring.probe import ProbeParams, ProbeTeacher

        xci, ces = ds.load_xci(data), ds.load_cesamard(data)
        skf = StratifiedKFold(3, shuffle=True, random_state=0)
        x_tr, x_te = list(skf.split(xci.texts, xci.labels))[fold]
        c_tr, _ = list(skf.split(ces.texts, ces.labels))[fold]
        self.train_sets = [subset(xci, x_tr), subset(ces, c_tr)]
        self.test = subset(xci, x_te)
        self.unlabelled = distil_texts(data)
        teacher = ProbeTeacher(ProbeParams(threads=threads))
        on_train, on_extra = teacher.soft_targets(self.train_sets, self.unlabelled)
        self.teacher_out = teacher.outputs(self.test.texts, False)
        self.targets = np.vstack([on_train, on_extra])
        self.texts = [t for d in self.train_sets for t in d.texts] + list(self.unlabelled)
        self.is_long = np.asarray(
            [d.channel in LONG_CHANNELS for d in self.train_sets for _ in d.texts]
            + [False] * len(self.unlabelled),
            dtype=bool,
        )
        self.teacher_description = teacher.describe()
        self.general = general_cooccurrence(data)  # unlabelled word co-occurrences, read once

    def loss_inputs(self) -> tuple[Any, Any, Any, Any]:
        """Standardised clipped targets, their loss weights (as the ridge student's), mean, sd."""
        y = self.targets.copy()
        y[:, :2] = np.clip(y[:, :2], -LOGIT_CLIP, LOGIT_CLIP)
        w = np.zeros_like(y)
        w[:, 0] = w[:, 2] = ~self.is_long
        w[:, 1] = w[:, 3] = np.where(self.is_long, 1.0, 0.3)
        mu, sd = y.mean(axis=0), y.std(axis=0)
        return (y - mu) / sd, w, mu, sd

    def report(self, name: str, out: Any) -> None:
        auc = roc_auc_score(self.test.labels, out[:, 0])
        rho = spearmanr(self.test.grades, out[:, 2])[0]
        c_auc = np.corrcoef(out[:, 0], self.teacher_out[:, 0])[0, 1]
        c_sev = np.corrcoef(out[:, 2], self.teacher_out[:, 2])[0, 1]
        print(f"  {name:36s} {auc:.4f} / {rho:.4f}   ({c_auc:.3f} / {c_sev:.3f})", flush=True)


def linear_student(fold: Fold) -> Any:
    cols = fit_word_columns([t for d in fold.train_sets for t in d.texts], fold.general, 100)
    weights, bias = fit_student_heads(fold.texts, fold.is_long, fold.targets, cols)
    return fx.design(fx.counts(fold.test.texts)) @ weights + bias


def shipped_recipe(fold: Fold, data: Path) -> Any:
    """Raw heads of the project's own t0.5 fit on this fold (the teacher's targets reused)."""

    class Cached:
        def soft_targets(self, sets: Sequence[ds.Labelled], extra: Sequence[str]) -> Any:
            n = sum(len(d.texts) for d in sets)
            return fold.targets[:n], fold.targets[n:]

        def describe(self) -> dict[str, Any]:
            return fold.teacher_description

    model = fit(
        fold.train_sets,
        TrainParams(),
        fit_aux(aux_sets(data)),
        fold.general,
        Cached(),
        fold.unlabelled,
    )
    return model.raw_outputs(fold.test.texts)[0]


def hidden_student(fold: Fold, width: int, epochs: int, on_epoch: Any) -> None:
    import torch

    raw = fx.counts(fold.texts)
    scale = fx.idf_scale(raw)
    x = fx.design(raw, scale).tocsr()
    x_test = fx.design(fx.counts(fold.test.texts), scale).tocsr()
    yn, w, mu, sd = fold.loss_inputs()

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = torch.nn.EmbeddingBag(fx.DIM, 4, mode="sum", sparse=True)
            self.emb = torch.nn.EmbeddingBag(fx.DIM, width, mode="sum", sparse=True)
            torch.nn.init.zeros_(self.lin.weight)
            torch.nn.init.normal_(self.emb.weight, std=0.05)
            self.b1 = torch.nn.Parameter(torch.zeros(width))
            self.out = torch.nn.Linear(width, 4)

        def forward(self, idx: Any, off: Any, val: Any) -> Any:
            hidden = torch.relu(self.emb(idx, off, per_sample_weights=val) + self.b1)
            return self.lin(idx, off, per_sample_weights=val) + self.out(hidden)

    def bag(mat: Any, rows: Any) -> tuple[Any, Any, Any]:
        sub = mat[rows]
        return (
            torch.from_numpy(sub.indices.astype(np.int64)),
            torch.from_numpy(sub.indptr[:-1].astype(np.int64)),
            torch.from_numpy(sub.data.astype(np.float32)),
        )

    net = Net()
    sparse_opt = torch.optim.SparseAdam([net.lin.weight, net.emb.weight], lr=0.003)
    dense_opt = torch.optim.Adam([net.b1, *net.out.parameters()], lr=0.003)
    y_t, w_t = torch.from_numpy(yn.astype(np.float32)), torch.from_numpy(w.astype(np.float32))
    rng = np.random.default_rng(0)
    for epoch in range(epochs):
        net.train()
        perm = rng.permutation(x.shape[0])
        for start in range(0, len(perm), 512):
            rows = perm[start : start + 512]
            idx, off, val = bag(x, rows)
            val = val * (torch.rand_like(val) > 0.3) / 0.7
            loss = ((net(idx, off, val) - y_t[rows]) ** 2 * w_t[rows]).sum() / w_t[rows].sum()
            sparse_opt.zero_grad()
            dense_opt.zero_grad()
            loss.backward()
            sparse_opt.step()
            dense_opt.step()
        with torch.no_grad():
            net.eval()
            out = net(*bag(x_test, np.arange(x_test.shape[0]))).numpy() * sd + mu
        on_epoch(f"hidden {width}, epoch {epoch + 1}", out)


def cnn_student(fold: Fold, epochs: int, on_epoch: Any) -> None:
    import torch

    def words(text: str) -> list[str]:
        return [fx.canonical(t) for t in fx.tokens(text)][:MAX_WORDS]

    train_words = [words(t) for t in fold.texts]
    seen = Counter(w for ws in train_words for w in ws)
    vocab = {w: i + 2 for i, (w, c) in enumerate(seen.most_common()) if c >= 2}

    def ids(docs: list[list[str]]) -> Any:
        out = np.zeros((len(docs), MAX_WORDS), np.int64)
        for i, ws in enumerate(docs):
            got = [vocab.get(w, 1) for w in ws] or [1]
            out[i, : len(got)] = got
        return torch.from_numpy(out)

    x, x_test = ids(train_words), ids([words(t) for t in fold.test.texts])
    yn, w, mu, sd = fold.loss_inputs()

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = torch.nn.Embedding(len(vocab) + 2, 64, padding_idx=0)
            self.convs = torch.nn.ModuleList(
                torch.nn.Conv1d(64, 128, k, padding=k - 1) for k in (1, 2, 3)
            )
            self.drop = torch.nn.Dropout(0.3)
            self.out = torch.nn.Linear(3 * 128, 4)

        def forward(self, tok: Any) -> Any:
            pad = (tok == 0).float()[:, None, :]
            e = self.drop(self.emb(tok)).transpose(1, 2)
            pooled = [
                (torch.relu(c(e))[:, :, : tok.shape[1]] - 1e4 * pad).max(dim=2).values
                for c in self.convs
            ]
            return self.out(self.drop(torch.cat(pooled, dim=1)))

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=0.002)
    y_t, w_t = torch.from_numpy(yn.astype(np.float32)), torch.from_numpy(w.astype(np.float32))
    rng = np.random.default_rng(0)
    for epoch in range(epochs):
        net.train()
        perm = rng.permutation(len(x))
        for start in range(0, len(perm), 128):
            rows = perm[start : start + 128]
            batch = x[rows]
            batch = batch[:, : max(1, int((batch > 0).sum(dim=1).max()))]
            loss = ((net(batch) - y_t[rows]) ** 2 * w_t[rows]).sum() / w_t[rows].sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            net.eval()
            out = net(x_test).numpy() * sd + mu
        on_epoch(f"cnn, epoch {epoch + 1}", out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--fold", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=4)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    fold = Fold(args.data, args.fold, args.threads)
    print(f"fold {args.fold} of 3; ROC-AUC / Spearman (correlation with the teacher)")
    fold.report("teacher (probe)", fold.teacher_out)
    linear = linear_student(fold)
    fold.report("linear student (shipped kind)", linear)
    for width in (16, 64):
        hidden_student(fold, width, args.epochs, fold.report)
    shipped = shipped_recipe(fold, args.data)
    fold.report("t0.5 model (label heads + linear)", shipped)

    def with_cnn(name: str, out: Any) -> None:
        fold.report(name, out)
        fold.report("  averaged with the linear student", (out + linear) / 2)
        for share in (0.2, 0.3, 0.4):
            fold.report(f"  in the t0.5 model at {share}", (1 - share) * shipped + share * out)

    cnn_student(fold, args.epochs, with_cnn)


if __name__ == "__main__":
    main()
