"""The text model and cues: shipped model loads, batch == single, sensible ordering."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config import ScoringSettings
from monitor.scoring import ModelFileError, ScoreContext, TextModel, load_model, score, score_many
from monitor.scoring import features as fx
from monitor.scoring.cues import find_cues
from monitor.scoring.text_model import HEADS
from tests.paths import REPO


@pytest.fixture(scope="module")
def model() -> TextModel:
    return load_model()


def cue_names(text: str) -> list[str]:
    return [c.name for c in find_cues(text, fx.normalise(text), set(fx.tokens(text)))]


def test_shipped_model_is_small_and_loads(model: TextModel) -> None:
    path = REPO / "monitor" / "scoring" / "model.npz"
    assert path.stat().st_size < 5_000_000
    assert model.weights.shape == (fx.DIM, len(HEADS))


def test_bad_model_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match="cannot load"):
        load_model(bad)


def test_complaints_outrank_praise_and_questions(model: TextModel) -> None:
    texts = [
        "@acme you charged me twice and nobody answers. worst service ever, I want my money back",
        "@acme thanks for the quick help today, really appreciate it",
        "@acme what time does the store open on sunday?",
    ]
    angry, happy, question = model.text_scores(texts, ["x"] * 3)
    assert angry.complaint > 0.5 > max(happy.complaint, question.complaint)
    assert angry.total_points > happy.total_points
    assert angry.reasons()[0].startswith("text: ") and angry.label != "no complaint"


def test_long_email_uses_the_long_text_heads(model: TextModel) -> None:
    email = (
        "Dear support, I ordered a washing machine three weeks ago. It arrived damaged, "
        "the drum is dented and it leaks. I have written twice and nobody has replied. "
        "This is not acceptable, I expect a replacement or a full refund."
    )
    as_email, as_tweet = model.text_scores([email, email], ["email", "x"])
    assert as_email.complaint > 0.5
    assert as_email != as_tweet or HEADS[1] == HEADS[0]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(max_size=300), min_size=1, max_size=12))
def test_batch_equals_one_at_a_time(texts: list[str]) -> None:
    model = load_model()
    batch = model.text_scores(texts, ["x"] * len(texts))
    single = [model.text_scores([t], ["x"])[0] for t in texts]
    for a, b in zip(batch, single, strict=True):
        assert a.label == b.label and a.points == b.points and a.cues == b.cues
        assert abs(a.complaint - b.complaint) < 1e-9


def test_fast_path_matches_the_training_features(model: TextModel) -> None:
    texts = ["@acme STILL waiting for my refund!!! 3 weeks now", "looooove it http://x.co/a", ""]
    fast, _, _ = model.raw_outputs(texts)
    design = fx.design(fx.counts(texts))
    slow = design @ model.weights.astype(np.float64) + model.bias
    assert np.allclose(fast, slow, atol=1e-5)


def test_negative_lexicon_adds_one_shared_column_per_word() -> None:
    raw = fx.counts(["still broken, the WORST", "lovely day", "no no no"]).toarray()
    assert raw[:, fx.LEX_COLUMN].tolist() == [3.0, 0.0, 3.0]
    assert fx.is_negative(fx.canonical("worst")) and not fx.is_negative("lovely")


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("This is the THIRD TIME I ASK", "caps"),
        ("why?!?!", "punctuation"),
        ("this is fucking ridiculous", "profanity"),
        ("I'm cancelling my subscription", "leave"),
        ("I will report you to trading standards", "public"),
        ("broken again", "repeat"),
        ("been waiting for 3 weeks", "elapsed"),
        ("since last week nothing", "elapsed"),
    ],
)
def test_cues(text: str, cue: str) -> None:
    assert cue in cue_names(text)


def test_no_cues_in_plain_text() -> None:
    assert cue_names("Thanks, the parcel came today.") == []


def test_cues_amplify_complaints_only(model: TextModel) -> None:
    happy = model.text_scores(["WOW THIS IS AMAZING!!! love it"], ["x"])[0]
    assert happy.cue_points <= 2


def test_score_and_score_many_agree(model: TextModel) -> None:
    s = ScoringSettings()
    ctx = ScoreContext(channel="email", public=False)
    items = [("my order never arrived and support ignores me", ctx), ("thanks!", ctx)]
    many = score_many(items, model=model, settings=s)
    one = [score(t, c, model=model, settings=s) for t, c in items]
    assert many == one
    assert many[0].value > many[1].value
    assert 0 <= many[1].value <= 100


def test_folded_blend_equals_its_parts() -> None:
    """The short complaint head = logistic + severity blend + standardised aux heads."""
    from monitor.scoring import data as ds
    from monitor.scoring.train import TrainParams, fit, fit_aux

    angry = ["you lost my parcel again", "worst service ever, refund me", "still broken!!"]
    calm = ["thanks for the help", "love the new app", "when do you open tomorrow?"]
    texts = angry + calm
    tweets = ds.Labelled("t", texts, [1, 1, 1, 0, 0, 0], [3, 4, 2, 0, 0, 0], "x", [])
    aux_set = ds.Labelled(
        "a", ["awful and annoying", "lovely day", "so angry"], [1, 0, 1], [], "x", []
    )
    aux = fit_aux([aux_set])
    plain = fit([tweets], TrainParams(severity_blend=0.0, aux_weight=0.0))
    blended = fit([tweets], TrainParams(severity_blend=0.3, aux_weight=0.4), aux)
    base = plain.raw_outputs(texts)[0]
    aux_out = fx.design(fx.counts(texts)) @ aux.weights[:, 0] + aux.bias[0]
    z = (aux_out - aux_out.mean()) / aux_out.std()
    expected = base[:, 0] + 0.9 * (base[:, 2] - 1.0) + 0.4 * z
    got = blended.raw_outputs(texts)[0][:, 0]
    assert np.allclose(got, expected, atol=1e-3)


def test_word_vectors_fold_into_word_column_weights() -> None:
    """Weights on the dense word-vector columns equal per-word-column weights (exact fold)."""
    from monitor.scoring import embed

    texts = [
        "my parcel is late again",
        "the parcel arrived late and broken",
        "late again, where is my parcel",
        "thanks, the parcel arrived",
    ]
    words, vectors = embed.word_vectors(embed.cooccurrence(texts), dims=3, min_count=2)
    assert "parcel" in words and vectors.shape == (len(words), 3)
    cols = embed.word_columns(words, vectors)
    block = fx.design(fx.counts(["where is my parcel", "late late late", "no known words"]))
    block = block[:, : fx.BLOCK]
    coef = np.array([0.5, -2.0, 1.5])
    assert np.allclose(cols.features(block) @ coef, block @ cols.fold(coef))


def test_training_on_too_little_text_for_word_vectors_still_works() -> None:
    from monitor.scoring import data as ds
    from monitor.scoring.train import fit

    tweets = ds.Labelled("t", ["bad", "good"], [1, 0], [2, 0], "x", [])
    model = fit([tweets])
    out = model.raw_outputs(["bad", "good"])[0]
    assert out[0, 0] > out[1, 0]
