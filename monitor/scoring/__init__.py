"""Frustration scoring: an explainable 0-100 score from the words and the history.

Pure: no database, no I/O at import. Load the text model explicitly with
:func:`load_model` (``None`` = the model file shipped in this package), then call
:func:`score` / :func:`score_many`, or :func:`combine` to recompute a stored
:class:`TextScore` against a new :class:`ScoreContext`.
"""

from monitor.scoring.context import OverduePromise, ScoreContext
from monitor.scoring.score import BANDS, Score, band_for, combine, score, score_many
from monitor.scoring.text_model import (
    ModelFileError,
    TextModel,
    TextScore,
    TextScorer,
    load_model,
)
from monitor.scoring.tiers import load_text_scorer

__all__ = [
    "BANDS",
    "ModelFileError",
    "OverduePromise",
    "Score",
    "ScoreContext",
    "TextModel",
    "TextScore",
    "TextScorer",
    "band_for",
    "combine",
    "load_model",
    "load_text_scorer",
    "score",
    "score_many",
]
