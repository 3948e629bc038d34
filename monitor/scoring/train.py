"""Train the text model from the development data (``complaint-monitor train-scorer``).

With a teacher (issue 16; :mod:`probe`, the ``[train]`` extra): heads over the frozen
sentence encoder all-MiniLM-L6-v2 (its layers 4-6, pooled) are fitted on the same
labelled rows; the teacher labels them and the unlabelled general text
(:func:`distil_texts`), and ridge heads over the same features learn its outputs
(:mod:`student`). Each head is then
``(1 - teacher_blend) * hard-label head + teacher_blend * distilled head``, before the
severity and auxiliary blends below; the model file's format does not change.

Short-text heads learn from brand-directed tweets (x-ci), long-text heads from long
reviews (cesamard) with the tweets added at a low weight; both share one hashed
feature space and IDF scale. (Cross-validated on the development data, adding reviews
to the tweet heads lowered tweet ROC-AUC, 0.912 -> 0.900 at weight 0.25, so the
default weight there is 0.) scikit-learn
fits the heads (logistic regression for complaint, ridge for severity); scoring only
needs numpy.

The short-text complaint head is a fixed blend of three linear parts, folded into one
weight column (so scoring cost and model size do not change):

- the complaint logistic regression on x-ci;
- the severity ridge of the same rows, ``severity_blend * 3 * (severity - 1)``
  (severity and complaint agree; adding it ranks accusations above mild requests);
- *auxiliary* heads trained on general, non-brand text (goemotions anger/annoyance/
  disappointment; tweeteval-sentiment negative), each standardised on the training
  rows, summed, times ``aux_weight / sqrt(k)``. They know frustrated words the brand
  tweets lack.

Cross-validated on x-ci (5 folds, bench/score_eval.py folds): complaint ROC-AUC
0.9117 -> ~0.915, severity Spearman 0.6802 -> ~0.686, leave-one-brand-domain-out mean
0.9127 -> ~0.915 (the severity part alone: 0.9124 / 0.6817 / 0.9149). Tried and not
kept: C / alpha changes (flat), ordinal severity heads (Spearman 0.6774), NB log-count
ratio weighting (unseen domains 0.9107), word trigrams (0.9135 / 0.6833), char 1-6 or
2-6-grams and 2^19 hashed columns per block (all within +-0.0005), a stacked blend
fitted by logistic regression on out-of-fold head outputs (0.9137 / 0.6848), aux heads
added to the severity head or class-balanced severity weights (Spearman down).
Kept: the shared negative-lexicon column of ``features`` (0.9148 -> 0.9171,
0.6858 -> 0.6895).

Every head also sees ``embed_dims`` dense columns: unsupervised word vectors
(:mod:`embed`, PPMI + SVD) learned from the training texts plus unlabelled general
text (goemotions, tweeteval-sentiment; no labels), summed over a text's word block.
Their weights fold back into word-column weights, so the model file's format and the
scoring path do not change. Cross-validated (bench/score_eval.py, the vectors relearned
in each fold without the held-out texts): complaint ROC-AUC 0.9171 -> 0.9205, severity
Spearman 0.6895 -> 0.6943, reviews as email 0.9584 -> 0.9597, leave-one-brand-domain-out
mean 0.9184 -> 0.9214. Vector sizes 50 / 200 / 300, window 2 and other SVD weightings
were all within +-0.001 of 100. Tried and not kept (same folds): VADER's lexicon
valences as columns (0.9175 / 0.6908), the x-ci ``emotion`` / ``sentiment`` columns
as multi-task heads (0.9170 / 0.6895), the x-ci ``Explain`` rationales as extra
training rows (0.9088 / 0.6762), review severities in the tweet severity head
(0.9180 / 0.6889), a severity head fitted on complaints only (0.9151 / 0.6707), and
30 GoEmotions/TweetEval emotion heads as stacked columns (0.9176 / 0.6914).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression, Ridge

from monitor.scoring import data as ds
from monitor.scoring import embed
from monitor.scoring import features as fx
from monitor.scoring.student import StudentParams, fit_student_heads
from monitor.scoring.text_model import HEADS, LONG_CHANNELS, TextModel

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class TrainParams:
    complaint_c: float = 16.0  # inverse L2 strength of the complaint heads
    severity_alpha: float = 1.0  # L2 strength of the severity heads
    cross_weight_short: float = 0.0  # weight of long-text rows in the short-text heads
    cross_weight_long: float = 0.1  # weight of short-text rows in the long-text heads
    severity_blend: float = 0.3  # severity ridge added to the short complaint logit
    aux_weight: float = 0.4  # auxiliary general-text heads added to the short complaint logit
    aux_c: float = 2.0  # inverse L2 strength of the auxiliary heads
    embed_dims: int = 100  # unsupervised word-vector columns in every head (0: none)
    embed_weight: float = 1.0  # scale of those columns (relative to their L2 penalty)
    teacher_blend: float = 0.5  # share of the teacher-distilled heads in the complaint heads
    teacher_blend_severity: float = 0.5  # ... in the severity heads
    student_alpha: float = 1.0  # L2 strength of the distilled (ridge) heads


class Teacher(Protocol):
    """What :func:`fit` needs of a teacher (:class:`probe.ProbeTeacher`)."""

    def soft_targets(
        self, train_sets: Sequence[ds.Labelled], unlabelled: Sequence[str]
    ) -> tuple[F64, F64]: ...

    def describe(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class AuxHeads:
    """Linear heads fitted on general text, in the unscaled design space of ``features``.

    ``weights`` (DIM x k) has each head's own IDF scale folded in, so its output on any
    text is ``design(counts) @ weights + bias`` whatever scale the main model uses.
    """

    names: tuple[str, ...]
    weights: npt.NDArray[np.float64]
    bias: npt.NDArray[np.float64]


def fit_aux(aux_sets: Sequence[ds.Labelled], c: float = 2.0) -> AuxHeads:
    """One logistic head per auxiliary set (label = frustrated / negative / angry)."""
    cols, biases = [], []
    for d in aux_sets:
        raw = fx.counts(d.texts)
        scale = fx.idf_scale(raw)
        clf = LogisticRegression(C=c, max_iter=3000)
        clf.fit(fx.design(raw, scale), np.asarray(d.labels, dtype=np.int64))
        cols.append(clf.coef_[0] * scale.astype(np.float64))
        biases.append(float(clf.intercept_[0]))
    if not cols:
        return AuxHeads((), np.zeros((fx.DIM, 0)), np.zeros(0))
    return AuxHeads(tuple(d.name for d in aux_sets), np.stack(cols, axis=1), np.asarray(biases))


def subset(data: ds.Labelled, idx: Sequence[int] | npt.NDArray[np.int64]) -> ds.Labelled:
    pick = [int(i) for i in idx]
    return ds.Labelled(
        name=data.name,
        texts=[data.texts[i] for i in pick],
        labels=[data.labels[i] for i in pick],
        grades=[data.grades[i] for i in pick],
        channel=data.channel,
        groups=[data.groups[i] for i in pick] if data.groups else [],
    )


def fit_word_columns(
    texts: Sequence[str], general: embed.Cooccurrence | None, dims: int
) -> embed.WordColumns:
    """Word vectors from the training texts' co-occurrences plus ``general``'s (no labels)."""
    counts = embed.cooccurrence(texts)
    if general is not None:
        counts = general.merged(counts)
    return embed.word_columns(*embed.word_vectors(counts, dims=dims))


def _hard_heads(
    x_fit: Any,
    labels: npt.NDArray[np.int64],
    grades: F64,
    is_long: npt.NDArray[np.bool_],
    params: TrainParams,
) -> tuple[F64, F64]:
    """Logistic complaint and ridge severity heads on the hard labels (design space)."""
    weights = np.zeros((x_fit.shape[1], len(HEADS)), dtype=np.float64)
    bias = np.zeros(len(HEADS), dtype=np.float64)
    for long_head in (False, True):
        own = is_long == long_head
        cross = params.cross_weight_long if long_head else params.cross_weight_short
        if not own.any():
            cross = 1.0  # no data of this kind: learn the head from the other kind
        sample_w = np.where(own, 1.0, cross)
        col = 1 if long_head else 0
        if len(set(labels.tolist())) > 1:
            clf = LogisticRegression(C=params.complaint_c, max_iter=3000)
            clf.fit(x_fit, labels, sample_weight=sample_w)
            weights[:, col] = clf.coef_[0]
            bias[col] = clf.intercept_[0]
        reg = Ridge(alpha=params.severity_alpha)
        reg.fit(x_fit, grades, sample_weight=sample_w)
        weights[:, col + 2] = reg.coef_
        bias[col + 2] = reg.intercept_
    return weights, bias


def _distilled(
    train_sets: Sequence[ds.Labelled],
    teacher: Teacher,
    unlabelled: Sequence[str],
    cols: embed.WordColumns | None,
    params: TrainParams,
) -> tuple[F64, F64]:
    """Student heads fitted to the teacher's outputs on training and unlabelled text."""
    on_train, on_extra = teacher.soft_targets(train_sets, unlabelled)
    texts = [t for d in train_sets for t in d.texts] + list(unlabelled)
    is_long = np.asarray(
        [d.channel in LONG_CHANNELS for d in train_sets for _ in d.texts]
        + [False] * len(unlabelled),
        dtype=bool,
    )
    student = StudentParams(alpha=params.student_alpha, embed_weight=params.embed_weight)
    return fit_student_heads(texts, is_long, np.vstack([on_train, on_extra]), cols, student)


def fit(
    train_sets: Sequence[ds.Labelled],
    params: TrainParams | None = None,
    aux: AuxHeads | None = None,
    general: embed.Cooccurrence | None = None,
    teacher: Teacher | None = None,
    unlabelled: Sequence[str] = (),
) -> TextModel:
    """Fit all heads on labelled sets (each set's ``channel`` says short or long text).

    ``aux`` (from :func:`fit_aux`) is blended into the short-text complaint head.
    ``general`` (from :func:`general_cooccurrence`) adds unlabelled text to what the
    word vectors learn from; they always learn from the training texts themselves.
    ``teacher`` (:class:`probe.ProbeTeacher`) learns from ``train_sets`` and
    labels them and ``unlabelled``; heads distilled from its outputs are blended in.
    """
    params = params or TrainParams()
    shares = None if teacher is None else (params.teacher_blend, params.teacher_blend_severity)
    variants = fit_variants(train_sets, params, aux, general, teacher, unlabelled, [shares])
    return variants[0]


def fit_variants(
    train_sets: Sequence[ds.Labelled],
    params: TrainParams,
    aux: AuxHeads | None,
    general: embed.Cooccurrence | None,
    teacher: Teacher | None,
    unlabelled: Sequence[str],
    shares: Sequence[tuple[float, float] | None],
) -> list[TextModel]:
    """One model per teacher share (complaint, severity); ``None`` = labels only.

    The heads are fitted once; each variant only blends them differently, so a
    benchmark can compare shares (and the labels-only recipe) at the cost of one fit.
    """
    texts = [t for d in train_sets for t in d.texts]
    raw = fx.counts(texts)
    scale = fx.idf_scale(raw)
    x = fx.design(raw, scale)
    cols: embed.WordColumns | None = None
    x_fit = x
    if params.embed_dims > 0:
        from scipy import sparse  # type: ignore[import-untyped]

        cols = fit_word_columns(texts, general, params.embed_dims)
        dense = cols.features(fx.design(raw)[:, : fx.BLOCK]) * params.embed_weight
        x_fit = sparse.hstack([x, sparse.csr_matrix(dense)], format="csr")
    labels = np.asarray([v for d in train_sets for v in d.labels], dtype=np.int64)
    grades = np.asarray([v for d in train_sets for v in d.grades], dtype=np.float64)
    is_long = np.asarray(
        [d.channel in LONG_CHANNELS for d in train_sets for _ in d.texts], dtype=bool
    )
    weights, bias = _hard_heads(x_fit, labels, grades, is_long, params)
    folded = weights[: fx.DIM] * scale[:, None].astype(np.float64)
    if cols is not None:
        # dense column weights become word-column weights (the vectors are unscaled)
        for h in range(len(HEADS)):
            folded[: fx.BLOCK, h] += cols.fold(weights[fx.DIM :, h] * params.embed_weight)
    taught = None
    if teacher is not None and any(s is not None for s in shares):
        taught = _distilled(train_sets, teacher, unlabelled, cols, params)
    short = ~is_long if (~is_long).any() else np.ones_like(is_long)
    models = []
    for pair in shares:
        w, b = folded, bias
        if pair is not None and taught is not None:
            share = np.asarray([pair[0]] * 2 + [pair[1]] * 2)
            w = folded * (1.0 - share) + taught[0] * share
            b = bias * (1.0 - share) + taught[1] * share
        w, b = _finish(w.copy(), b.copy(), x[short], scale, aux, params)
        used = teacher if pair is not None else None
        meta = _meta(train_sets, params, aux, cols, used, len(unlabelled) if used else 0)
        if pair is not None:
            meta["params"]["teacher_blend"], meta["params"]["teacher_blend_severity"] = pair
        models.append(TextModel(weights=w.astype(np.float32), bias=b.astype(np.float32), meta=meta))
    return models


def _finish(
    folded: F64, bias: F64, x_short: Any, scale: Any, aux: AuxHeads | None, params: TrainParams
) -> tuple[F64, F64]:
    """The severity blend and the auxiliary heads, added to the short complaint head."""
    if params.severity_blend:
        k = 3.0 * params.severity_blend
        folded[:, 0] += k * folded[:, 2]
        bias[0] += k * (bias[2] - 1.0)
    if aux is not None and aux.weights.shape[1] and params.aux_weight:
        unscaled = x_short @ (aux.weights / scale[:, None].astype(np.float64))
        out = unscaled + aux.bias
        mu, sd = out.mean(axis=0), np.maximum(out.std(axis=0), 1e-9)
        coef = params.aux_weight / np.sqrt(aux.weights.shape[1]) / sd
        folded[:, 0] += aux.weights @ coef
        bias[0] += float(((aux.bias - mu) * coef).sum())
    return folded, bias


def _meta(
    train_sets: Sequence[ds.Labelled],
    params: TrainParams,
    aux: AuxHeads | None,
    cols: embed.WordColumns | None,
    teacher: Teacher | None,
    n_unlabelled: int,
) -> dict[str, Any]:
    kept = dict(vars(params))
    kept["aux_weight"] = params.aux_weight if aux is not None else 0.0
    if teacher is None:
        kept["teacher_blend"] = kept["teacher_blend_severity"] = 0.0
    return {
        "rows": {d.name: len(d.texts) for d in train_sets},
        "params": kept,
        "embed_words": len(cols.columns) if cols is not None else 0,
        "aux": list(aux.names) if aux is not None else [],
        "teacher": teacher.describe() if teacher is not None else None,
        "distil_texts": n_unlabelled,
    }


def training_sets(data_dir: Path) -> list[ds.Labelled]:
    return [ds.load_xci(data_dir), ds.load_cesamard(data_dir)]


def aux_sets(data_dir: Path) -> list[ds.Labelled]:
    """General-text sets for the auxiliary heads (weak labels, never brand tweets).

    tweeteval-emotion stays out: bench/score_eval.py scores it zero-shot.
    """
    return [
        ds.load_goemotions(data_dir),
        ds.load_tweeteval_sentiment(data_dir),
    ]


def general_texts(data_dir: Path) -> list[str]:
    """Unlabelled general text for the word vectors (labels unused).

    tweeteval-emotion and vader-tweets stay out: bench/score_eval.py scores them zero-shot.
    """
    return [
        *ds.load_goemotions(data_dir, "train").texts,
        *ds.load_goemotions(data_dir, "dev").texts,
        *ds.load_tweeteval_sentiment(data_dir).texts,
    ]


DISTIL_TEXTS = 60_000


def distil_texts(data_dir: Path, n: int = DISTIL_TEXTS) -> list[str]:
    """An evenly spaced share of :func:`general_texts` for the teacher to label (all of
    them by default: about 50,800).

    The probe reads a short text in about 2 ms on a 2-core CPU, once per text and
    training run. Cross-validated (3 folds, a teacher share of 0.3, a weaker teacher than
    the probe: the last layer alone), x-ci complaint ROC-AUC was 0.9206 over all of them
    and 0.9190 over 8,000, the earlier default.
    """
    texts = general_texts(data_dir)
    step = max(1, len(texts) // n)
    return texts[::step][:n]


def general_cooccurrence(data_dir: Path) -> embed.Cooccurrence:
    return embed.cooccurrence(general_texts(data_dir))


def in_sample_auc(model: TextModel, data: ds.Labelled) -> float:
    from sklearn.metrics import roc_auc_score

    scores = model.text_scores(data.texts, [data.channel] * len(data.texts))
    return float(roc_auc_score(data.labels, [s.complaint for s in scores]))


def train_to_file(
    data_dir: Path,
    out: Path,
    params: TrainParams | None = None,
    teacher: Teacher | None = None,
) -> dict[str, float]:
    """Train on the data sets under ``data_dir`` and write the model file to ``out``.

    With ``teacher`` the heads are distilled from it over the training texts and
    :func:`general_texts`; without, they learn from the hard labels alone.
    """
    params = params or TrainParams()
    sets = training_sets(data_dir)
    aux = fit_aux(aux_sets(data_dir), params.aux_c) if params.aux_weight else None
    general = general_cooccurrence(data_dir) if params.embed_dims else None
    unlabelled = distil_texts(data_dir) if teacher is not None else []
    model = fit(sets, params, aux, general, teacher=teacher, unlabelled=unlabelled)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    figures: dict[str, float] = {f"rows_{d.name}": float(len(d.texts)) for d in sets}
    figures["distil_texts"] = float(len(unlabelled))
    for d in sets:
        figures[f"training_fit_auc_{d.name}"] = round(in_sample_auc(model, d), 4)
    figures["model_bytes"] = float(out.stat().st_size)
    return figures
