"""Near-duplicate complaints: TF-IDF-free cosine similarity over character shingles.

Complaints about one outage say the same thing in different words and spellings ("app
crashes on login", "cant log in, the app crashed", "Error 503 at login!!"). Character
3- to 5-grams within words catch those variants (plurals, typos, "log in"/"login")
where word shingles miss them. Each text is hashed into a fixed 2^18-dimensional
space (scikit-learn's ``HashingVectorizer``, stateless: nothing to fit, nothing kept
between calls, so a text is vectorised the same way in every process), L2-normalised,
so the similarity of two texts is one sparse dot product. A query against N texts is
one sparse matrix product: a few milliseconds for thousands of complaints.

Terms are the incident's own words: a complaint matches a term when the term's words
appear in it in order, whole-word, ignoring case. Pure: no database.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix  # type: ignore[import-untyped]
from sklearn.feature_extraction.text import HashingVectorizer

N_FEATURES = 2**18
Matrix = Any  # a scipy.sparse CSR matrix (scipy ships no type information)
_URL = re.compile(r"(?:https?://|www\.)\S+", re.I)
_HANDLE = re.compile(r"@\w{1,50}")


def normalise(text: str) -> str:
    """Lower case, without links and @handles (they say who, not what is wrong)."""
    return " ".join(_HANDLE.sub(" ", _URL.sub(" ", text)).lower().split())


def vectorise(texts: Sequence[str]) -> Matrix:
    """One L2-normalised row per text (an empty text is a zero row)."""
    if not texts:
        return sparse_empty()
    vectoriser = HashingVectorizer(
        analyzer="char_wb",
        ngram_range=(3, 5),
        n_features=N_FEATURES,
        alternate_sign=False,
        norm="l2",
        lowercase=False,
        dtype=np.float32,
    )
    matrix: Matrix = vectoriser.transform([normalise(t) for t in texts])
    return matrix


def sparse_empty() -> Matrix:
    """A matrix of no rows, shaped like :func:`vectorise`'s."""
    return csr_matrix((0, N_FEATURES), dtype=np.float32)


def best_similarities(queries: Matrix, pool: Matrix) -> npt.NDArray[np.float32]:
    """For each query row, its highest cosine similarity to any row of ``pool`` (0 if none)."""
    if queries.shape[0] == 0 or pool.shape[0] == 0:
        return np.zeros(queries.shape[0], dtype=np.float32)
    products = (queries @ pool.T).tocsr()
    best = products.max(axis=1).toarray().ravel()
    return np.asarray(best, dtype=np.float32)


def _term_pattern(term: str) -> re.Pattern[str] | None:
    parts = [re.escape(w) for w in term.lower().split()]
    if not parts:
        return None
    return re.compile(r"(?<!\w)" + r"\W+".join(parts) + r"(?!\w)", re.IGNORECASE)


def matching_terms(text: str, terms: Sequence[str]) -> list[str]:
    """The incident terms that ``text`` contains (whole words, in order, any case)."""
    found = []
    for term in terms:
        pattern = _term_pattern(term)
        if pattern is not None and pattern.search(text):
            found.append(term)
    return found


def clean_terms(terms: Sequence[str]) -> list[str]:
    """Terms as stored: trimmed, single-spaced, no empties or duplicates (case-insensitive)."""
    seen: dict[str, str] = {}
    for term in terms:
        t = " ".join(term.split())
        if t and t.lower() not in seen:
            seen[t.lower()] = t
    return list(seen.values())


@dataclass(frozen=True)
class Ranked:
    index: int  # position in the candidates given
    similarity: float  # best cosine similarity to the reference texts, 0-1
    terms: tuple[str, ...]  # incident terms the candidate contains


def rank(
    candidates: Sequence[str],
    references: Sequence[str],
    *,
    terms: Sequence[str] = (),
    min_similarity: float,
) -> list[Ranked]:
    """Candidates similar to any reference text or containing a term, best first."""
    sims = best_similarities(vectorise(candidates), vectorise(references))
    out = []
    for i, text in enumerate(candidates):
        hit = tuple(matching_terms(text, terms))
        similarity = float(sims[i])
        if similarity >= min_similarity or hit:
            out.append(Ranked(i, round(similarity, 3), hit))
    out.sort(key=lambda r: (-(r.similarity + 0.5 * bool(r.terms)), r.index))
    return out
