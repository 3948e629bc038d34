"""Combine the text part and the context part into a 0-100 score with reasons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from monitor.config import ScoringSettings
from monitor.scoring.context import ScoreContext, contributions
from monitor.scoring.text_model import TextScore, TextScorer

BANDS = ("low", "medium", "high", "critical")


@dataclass(frozen=True)
class Score:
    value: int  # 0-100
    band: str  # "low" | "medium" | "high" | "critical"
    reasons: tuple[str, ...]
    text_points: int = 0
    context_points: int = 0


def band_for(value: int, settings: ScoringSettings) -> str:
    if value >= settings.band_critical:
        return "critical"
    if value >= settings.band_high:
        return "high"
    if value >= settings.band_medium:
        return "medium"
    return "low"


def combine(text_score: TextScore, context: ScoreContext, settings: ScoringSettings) -> Score:
    """Recompute a score from a stored text part and a fresh context (no model needed)."""
    return assemble(text_score, contributions(context, settings), settings)


def assemble(
    text_score: TextScore, parts: Sequence[tuple[int, str]], settings: ScoringSettings
) -> Score:
    """A score from a text part and already computed context ``(points, reason)`` parts."""
    text_pts = text_score.total_points
    context_pts = sum(p for p, _ in parts)
    value = max(0, min(100, text_pts + context_pts))
    reasons = (*text_score.reasons(), *(r for _, r in parts))
    return Score(
        value=value,
        band=band_for(value, settings),
        reasons=reasons,
        text_points=text_pts,
        context_points=context_pts,
    )


def score(
    text: str, context: ScoreContext, *, model: TextScorer, settings: ScoringSettings
) -> Score:
    """Score one mention. For many mentions use :func:`score_many` (much faster)."""
    return score_many([(text, context)], model=model, settings=settings)[0]


def score_many(
    items: Sequence[tuple[str, ScoreContext]],
    *,
    model: TextScorer,
    settings: ScoringSettings,
) -> list[Score]:
    """Score a batch: the text model runs once over all texts."""
    texts = [t for t, _ in items]
    channels = [c.channel for _, c in items]
    text_scores = model.text_scores(texts, channels)
    return [combine(ts, ctx, settings) for ts, (_, ctx) in zip(text_scores, items, strict=True)]
