"""Choose the text scorer from config: the numpy student, or the encoder tier on it."""

from __future__ import annotations

from monitor.config import ScoringSettings
from monitor.scoring.text_model import TextScorer, load_model


def load_text_scorer(settings: ScoringSettings) -> TextScorer:
    """``scoring.tier`` "student" (default) or "encoder" (needs the encoder packages).

    Raises :class:`text_model.ModelFileError` (``TierUnavailable`` for a missing
    package or encoder file) with a one-line reason.
    """
    student = load_model(settings.model_path)
    if settings.tier == "student":
        return student
    from monitor.scoring.encoder_tier import load_encoder_tier

    return load_encoder_tier(student, settings.model_path, settings.encoder_blend)
