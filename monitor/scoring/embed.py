"""Word vectors learned without labels from plain texts (training only; scoring never imports it).

Counts which canonical tokens (:func:`features.canonical`) occur near each other
(within ``window`` tokens, weighted 1/distance), turns the counts into positive
pointwise mutual information (context counts smoothed to the power 0.75) and keeps the
top ``dims`` singular directions: the classic PPMI + SVD recipe (Levy, Goldberg &
Dagan, TACL 2015). Words used in the same places get close vectors, so a head that
learns "refund" matters can also weigh "reimbursement", seen only in unlabelled text.

The vectors are laid out over the hashed *word* columns of :mod:`features`
(``crc(word) & MASK``). Training appends ``design(counts)[:, :BLOCK] @ vectors`` to the
design matrix; a head's weights on those dense columns then fold back into plain
word-column weights (``vectors @ coef``), so the model file and the scoring path stay
exactly as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse  # type: ignore[import-untyped]

from monitor.scoring import features as fx

F64 = npt.NDArray[np.float64]
WINDOW = 4
DIMS = 100
MIN_COUNT = 3
MAX_WORDS = 30_000
CONTEXT_POWER = 0.75


@dataclass(frozen=True)
class Cooccurrence:
    """Token frequencies and the symmetric, distance-weighted co-occurrence counts."""

    words: tuple[str, ...]
    freq: F64
    matrix: sparse.csr_matrix

    def merged(self, other: Cooccurrence) -> Cooccurrence:
        """Counts of both corpora together (over the union of their tokens)."""
        index = {w: i for i, w in enumerate(self.words)}
        words = list(self.words)
        for w in other.words:
            if w not in index:
                index[w] = len(words)
                words.append(w)
        n = len(words)
        remap = np.asarray([index[w] for w in other.words], dtype=np.int64)
        freq = np.zeros(n)
        freq[: len(self.words)] = self.freq
        np.add.at(freq, remap, other.freq)
        a = self.matrix.tocoo()
        b = other.matrix.tocoo()
        rows = np.concatenate([a.row, remap[b.row]])
        cols = np.concatenate([a.col, remap[b.col]])
        vals = np.concatenate([a.data, b.data])
        mat = sparse.csr_matrix((vals, (rows, cols)), shape=(n, n))
        mat.sum_duplicates()
        return Cooccurrence(tuple(words), freq, mat)


def cooccurrence(texts: Iterable[str], window: int = WINDOW) -> Cooccurrence:
    """Count co-occurrences of canonical tokens within ``window`` tokens, weight 1/distance."""
    index: dict[str, int] = {}
    canon: dict[str, int] = {}
    ids: list[int] = []
    lengths: list[int] = []
    for text in texts:
        before = len(ids)
        for tok in fx.tokens(text):
            i = canon.get(tok)
            if i is None:
                c = fx.canonical(tok)
                i = index.setdefault(c, len(index))
                canon[tok] = i
            ids.append(i)
        lengths.append(len(ids) - before)
    n = len(index)
    flat = np.asarray(ids, dtype=np.int64)
    doc = np.repeat(np.arange(len(lengths)), lengths)
    rows: list[npt.NDArray[np.int64]] = []
    cols: list[npt.NDArray[np.int64]] = []
    vals: list[F64] = []
    for off in range(1, window + 1):
        same = doc[off:] == doc[:-off]
        a, b = flat[:-off][same], flat[off:][same]
        rows += [a, b]
        cols += [b, a]
        vals += [np.full(len(a), 1.0 / off), np.full(len(a), 1.0 / off)]
    mat = sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )
    mat.sum_duplicates()
    freq = np.bincount(flat, minlength=n).astype(np.float64)
    words = [""] * n
    for w, i in index.items():
        words[i] = w
    return Cooccurrence(tuple(words), freq, mat)


def word_vectors(
    counts: Cooccurrence,
    dims: int = DIMS,
    min_count: int = MIN_COUNT,
    max_words: int = MAX_WORDS,
    seed: int = 0,
) -> tuple[list[str], F64]:
    """PPMI + truncated SVD; unit-length vectors for the ``max_words`` most frequent tokens."""
    from sklearn.utils.extmath import randomized_svd

    order = np.argsort(-counts.freq, kind="stable")[:max_words]
    order = order[counts.freq[order] >= min_count]
    words = [counts.words[i] for i in order]
    mat = counts.matrix[order][:, order].tocoo()
    total = float(mat.sum())
    if len(words) < 2 or total <= 0:  # too little text to learn from: no information
        return words, np.zeros((len(words), dims))
    row_p = np.asarray(mat.tocsr().sum(axis=1)).ravel() / total
    ctx = np.asarray(mat.tocsr().sum(axis=0)).ravel() ** CONTEXT_POWER
    ctx_p = ctx / ctx.sum()
    pmi = np.log(mat.data / total / row_p[mat.row] / ctx_p[mat.col])
    keep = pmi > 0
    ppmi = sparse.csr_matrix(
        (pmi[keep], (mat.row[keep], mat.col[keep])), shape=(len(words), len(words))
    )
    k = min(dims, len(words) - 1)
    u, s, _ = randomized_svd(ppmi, k, random_state=seed)
    vectors = u * np.sqrt(s)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    if k < dims:
        vectors = np.hstack([vectors, np.zeros((len(words), dims - k))])
    return words, vectors


@dataclass(frozen=True)
class WordColumns:
    """Word vectors keyed by hashed word column: ``vectors[i]`` belongs to ``columns[i]``.

    Several words may share a column (a hash collision); their vectors then add up,
    exactly as the folded weights will at scoring time.
    """

    columns: npt.NDArray[np.int64]
    vectors: F64

    @property
    def dims(self) -> int:
        return int(self.vectors.shape[1])

    def features(self, word_block: sparse.csr_matrix) -> F64:
        """Dense features of design rows (only their word block, columns < BLOCK)."""
        out: F64 = np.asarray(word_block[:, self.columns] @ self.vectors, dtype=np.float64)
        return out

    def fold(self, coef: F64) -> F64:
        """Per-word-column weights equal to ``coef`` (dims,) on the dense features."""
        out = np.zeros(fx.BLOCK)
        np.add.at(out, self.columns, self.vectors @ coef)
        return out


def word_columns(words: Sequence[str], vectors: F64) -> WordColumns:
    cols = np.asarray([fx.crc(w) & fx.MASK for w in words], dtype=np.int64)
    return WordColumns(cols, np.asarray(vectors, dtype=np.float64))
