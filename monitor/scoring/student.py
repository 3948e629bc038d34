"""The student: the hashed n-gram heads refitted to the teacher's outputs (training only).

Given the teacher's four outputs (:mod:`probe`) on the training texts and
on unlabelled general text, each head of :data:`text_model.HEADS` is a ridge
regression of the teacher's output (complaint logit, clipped; severity 0-4) on the same
features the hard-label heads use: hashed word and character n-grams plus the dense
word-vector columns, folded back into word-column weights. The result is plain weight
columns, so :func:`train.fit` can blend them with the hard-label heads and the model
file, its size and the scoring path stay exactly as they are.

Short-text heads learn from the short texts only (tweets and the general text); the
long-text heads from every text, the short ones at ``cross_weight`` (as the hard-label
heads do).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from monitor.scoring import embed
from monitor.scoring import features as fx

F64 = npt.NDArray[np.float64]
LOGIT_CLIP = 6.0


@dataclass(frozen=True)
class StudentParams:
    alpha: float = 1.0  # L2 strength of the ridge heads
    cross_weight: float = 0.3  # weight of short texts in the long-text heads
    embed_weight: float = 1.0  # scale of the dense word-vector columns


def fit_student_heads(
    texts: Sequence[str],
    is_long: npt.NDArray[np.bool_],
    targets: F64,
    cols: embed.WordColumns | None,
    params: StudentParams | None = None,
) -> tuple[F64, F64]:
    """Folded weights (DIM x 4) and biases (4) of ridge heads that imitate ``targets``."""
    from scipy import sparse  # type: ignore[import-untyped]
    from sklearn.linear_model import Ridge

    params = params or StudentParams()
    raw = fx.counts(texts)
    scale = fx.idf_scale(raw)
    x = fx.design(raw, scale)
    if cols is not None:
        dense = cols.features(fx.design(raw)[:, : fx.BLOCK]) * params.embed_weight
        x = sparse.hstack([x, sparse.csr_matrix(dense)], format="csr")
    y = targets.copy()
    y[:, :2] = np.clip(y[:, :2], -LOGIT_CLIP, LOGIT_CLIP)
    weights = np.zeros((fx.DIM, 4))
    bias = np.zeros(4)
    for head in range(4):
        long_head = head % 2 == 1
        if long_head:
            w = np.where(is_long, 1.0, params.cross_weight)
        else:
            w = np.where(is_long, 0.0, 1.0)
        rows = np.flatnonzero(w > 0)
        reg = Ridge(alpha=params.alpha, solver="sparse_cg", max_iter=500, tol=1e-4)
        reg.fit(x[rows], y[rows, head], sample_weight=w[rows])
        coef = np.asarray(reg.coef_, dtype=np.float64)
        weights[:, head] = coef[: fx.DIM] * scale.astype(np.float64)
        if cols is not None:
            weights[: fx.BLOCK, head] += cols.fold(coef[fx.DIM :] * params.embed_weight)
        bias[head] = float(reg.intercept_)
    return weights, bias
