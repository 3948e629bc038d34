"""Hashed word + character n-gram features shared by training and fast scoring.

Text is normalised (lower case, links and @handles replaced by placeholders) and split
into word and punctuation tokens; each token is canonicalised (digit runs collapsed,
elongations shortened).
Two hashed blocks follow:

- words: unigrams and bigrams, columns ``[0, BLOCK)``;
- characters: 2-5-grams of each word padded with spaces (like scikit-learn's
  ``char_wb``), columns ``[BLOCK, 2 * BLOCK)``.

Each block holds raw counts divided by the square root of the block's n-gram count,
times ``sqrt(0.5)``. That keeps the model *linear per token*: a text's score is a sum
of per-token parts over a per-text divisor, so scoring (``text_model``) can cache each
word's character-n-gram contribution and never build a sparse matrix. (Cross-validated
on the development data this matched sublinear TF + true L2 norm within noise.)

Hashes are CRC-32, stable across processes (unlike ``hash(str)``).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from itertools import chain
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from scipy import sparse  # type: ignore[import-untyped]

BLOCK_BITS = 18
BLOCK = 1 << BLOCK_BITS
DIM = 2 * BLOCK
MASK = BLOCK - 1
CHAR_NGRAMS = (2, 3, 4, 5)
MAX_CHARS = 20_000  # longer texts are cut: the start says enough and time stays bounded
HALF = float(np.sqrt(0.5))

_URL = re.compile(r"https?://\S+|www\.\S+")
_HANDLE = re.compile(r"@\w+")
_DIGITS = re.compile(r"\d+")
_ELONGATED = re.compile(r"(\w)\1{2,}")
TOKEN = re.compile(r"[^\W\d_][\w']*|\d+|[!?]+|[^\w\s]")

# A small negativity lexicon written for this project (not taken from any data set or
# from VADER). Each token of a text found here (canonical form) adds one count to one
# reserved word-block column, LEX_COLUMN, next to its own unigram: a shared "negative
# word" feature the heads can weigh even for words rare in the training rows.
_NEGATIVE_TEXT = """
    worst terrible awful horrible useless rubbish garbage disgusting disgraceful disgrace
    pathetic ridiculous unacceptable shocking appalling annoyed annoying angry furious
    frustrated frustrating disappointed disappointing fed sick tired hate hated ugh wtf
    smh fail failed fails failure broken broke crash crashed crashing crashes error bug
    issue issues problem problems refund cancel cancelled delayed delay late waiting wait
    still again never nobody nothing lost missing wrong charged overcharged scam rude poor
    bad sucks sucked joke lie lied lies liar incompetent unhelpful ignored ignoring cant
    can't won't wont doesn't doesnt didn't didnt isn't not no hours days weeks
"""
NEGATIVE_WORDS = frozenset(_NEGATIVE_TEXT.split())

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]


def normalise(text: str) -> str:
    """Lower-case and replace volatile parts (links, handles, numbers) by placeholders."""
    text = text[:MAX_CHARS]
    if "http" in text or "www." in text:
        text = _URL.sub(" httpurl ", text)
    if "@" in text:
        text = _HANDLE.sub(" atuser ", text)
    return text.lower()


def canonical(token: str) -> str:
    """A token as features see it: digit runs as "0", elongations cut to two letters.

    Applied once per distinct token (cached by the callers), not once per text.
    """
    return _ELONGATED.sub(r"\1\1", _DIGITS.sub("0", token))


def tokens(text: str) -> list[str]:
    """Raw tokens of the normalised text (see :func:`canonical` for the feature form)."""
    return TOKEN.findall(normalise(text))


def crc(s: str) -> int:
    return zlib.crc32(s.encode("utf-8", "surrogatepass"))


LEX_COLUMN = crc("\x00negative-lexicon") & MASK


def is_negative(canon: str) -> bool:
    """Whether a canonical token is in :data:`NEGATIVE_WORDS`."""
    return canon in NEGATIVE_WORDS


def char_grams(word: str) -> list[int]:
    """Column indices (in the character block) of a word's padded 2-5-grams."""
    if not word[0].isalpha():
        return []
    padded = f" {word} "
    return [
        BLOCK + (crc(padded[i : i + n]) & MASK)
        for n in CHAR_NGRAMS
        for i in range(len(padded) - n + 1)
    ]


def bigram_columns(hashes: U64, rows: I64) -> tuple[I64, I64]:
    """Columns and rows of the bigrams of consecutive tokens within the same text."""
    if len(hashes) < 2:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    same = rows[1:] == rows[:-1]
    big = hashes[:-1] * np.uint64(0x9E3779B1) + hashes[1:] + np.uint64(0x7F4A7C15)
    big = (big ^ (big >> np.uint64(29))) & np.uint64(MASK)
    return big.astype(np.int64)[same], rows[1:][same]


def counts(texts: Sequence[str]) -> sparse.csr_matrix:
    """Raw n-gram counts, shape (n, DIM). Used in training; scoring has a faster path."""
    # training only: scoring never pays for importing scipy
    from scipy import sparse

    cache: dict[str, tuple[int, list[int], bool]] = {}
    word_hashes: list[int] = []
    n_words: list[int] = []
    lex_rows: list[int] = []
    chars: list[int] = []
    n_chars: list[int] = []
    for row, text in enumerate(texts):
        entries = []
        for tok in tokens(text):
            entry = cache.get(tok)
            if entry is None:
                canon = canonical(tok)
                entry = cache[tok] = (crc(canon), char_grams(canon), is_negative(canon))
            entries.append(entry)
            if entry[2]:
                lex_rows.append(row)
        word_hashes.extend(e[0] for e in entries)
        n_words.append(len(entries))
        before = len(chars)
        chars.extend(chain.from_iterable(e[1] for e in entries))
        n_chars.append(len(chars) - before)
    n = len(texts)
    wh = np.asarray(word_hashes, dtype=np.uint64)
    word_rows = np.repeat(np.arange(n, dtype=np.int64), np.asarray(n_words, dtype=np.int64))
    uni = (wh & np.uint64(MASK)).astype(np.int64)
    bi, bi_rows = bigram_columns(wh, word_rows)
    char_rows = np.repeat(np.arange(n, dtype=np.int64), np.asarray(n_chars, dtype=np.int64))
    lex = np.asarray(lex_rows, dtype=np.int64)
    lex_cols = np.full(len(lex), LEX_COLUMN, dtype=np.int64)
    cols = np.concatenate([uni, bi, lex_cols, np.asarray(chars, dtype=np.int64)])
    rows = np.concatenate([word_rows, bi_rows, lex, char_rows])
    data = np.ones(len(cols), dtype=np.float32)
    mat = sparse.csr_matrix((data, (rows, cols)), shape=(n, DIM), dtype=np.float32)
    mat.sum_duplicates()
    return mat


def idf_scale(raw: sparse.csr_matrix) -> F32:
    """Per-column scale sqrt(smooth IDF); folded into the weights when a model is saved."""
    n = raw.shape[0]
    df = np.bincount(raw.indices, minlength=DIM).astype(np.float64)
    scale: F32 = np.sqrt(np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)
    return scale


def design(raw: sparse.csr_matrix, scale: F32 | None = None) -> sparse.csr_matrix:
    """Counts x column scale, over sqrt(n-gram count) of each block, times sqrt(0.5)."""
    mat = raw.copy()
    if scale is not None:
        mat.data *= scale[mat.indices]
    n = mat.shape[0]
    is_char = mat.indices >= BLOCK
    rows = np.repeat(np.arange(n), np.diff(mat.indptr))
    cnt = raw.data.astype(np.float64)
    word_n = np.bincount(rows[~is_char], weights=cnt[~is_char], minlength=n)
    char_n = np.bincount(rows[is_char], weights=cnt[is_char], minlength=n)
    word_inv = HALF / np.sqrt(np.maximum(word_n, 1.0))
    char_inv = HALF / np.sqrt(np.maximum(char_n, 1.0))
    mat.data *= np.where(is_char, char_inv[rows], word_inv[rows]).astype(np.float32)
    return mat
