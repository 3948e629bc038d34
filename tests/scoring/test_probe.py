"""The probe teacher: heads over the frozen encoder's pooled layers, and the encoder tier
that runs the same heads in numpy at scoring time."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from monitor.scoring import data as ds
from monitor.scoring import encoder_tier as tier
from monitor.scoring import load_model
from monitor.scoring.teacher import teacher_available
from tests.support import missing_service


@pytest.fixture(autouse=True)
def _needs_the_teacher() -> None:
    if not teacher_available():
        missing_service("needs the [train] extra (torch, encoder)")


TWEETS = ds.Labelled(
    "x",
    [
        "@acme my parcel is lost again, third time I ask for a refund",
        "@acme you charged me twice and nobody answers",
        "@acme the app keeps crashing since the update, useless",
        "@acme still waiting for my refund after three weeks, disgraceful",
        "@acme thanks for the quick help today",
        "@acme love the new design, well done",
        "@acme when does the new store open?",
        "@acme great service as always",
    ],
    [1, 1, 1, 1, 0, 0, 0, 0],
    [3.0, 2.0, 2.0, 4.0, 0.0, 0.0, 0.0, 0.0],
    "x",
    [],
)
REVIEWS = ds.Labelled(
    "r",
    ["Arrived broken and support ignored me.", "Works well, happy with it."],
    [1, 0],
    [4.0, 0.0],
    "email",
    [],
)


@pytest.fixture(scope="module")
def teacher():  # type: ignore[no-untyped-def]
    if not teacher_available():
        missing_service("needs the [train] extra (torch, encoder)")
    from monitor.scoring.probe import ProbeParams, ProbeTeacher

    t = ProbeTeacher(ProbeParams(complaint_c=1.0, severity_alpha=1.0))
    t.fine_tune([TWEETS, REVIEWS])
    return t


def test_heads_learn_the_labels_on_the_pooled_layers(teacher) -> None:  # type: ignore[no-untyped-def]
    out = teacher.outputs(TWEETS.texts, False)
    assert out.shape == (8, 4)
    complaint, severity = out[:, 0], out[:, 2]
    assert complaint[:4].min() > complaint[4:].max()
    assert severity[:4].mean() > severity[4:].mean() + 1.0
    assert teacher.features([(TWEETS.texts[0], False)]).shape == (1, 3 * tier.HIDDEN)
    # long texts read more tokens: a different key, the same heads
    long = teacher.outputs(REVIEWS.texts, True)
    assert long[0, 1] > long[1, 1]


def test_soft_targets_refit_on_the_sets_given(teacher) -> None:  # type: ignore[no-untyped-def]
    on_train, on_extra = teacher.soft_targets([TWEETS], ["awful, I want my money back"])
    assert on_train.shape == (8, 4) and on_extra.shape == (1, 4)
    assert on_extra[0, 0] > np.median(on_train[:, 0])


def test_the_numpy_encoder_tier_reproduces_the_teacher(teacher, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    student = tmp_path / "model.npz"
    load_model(None).save(student)
    teacher.save_top(tier.encoder_file(student))
    with np.load(tier.encoder_file(student)) as npz:
        meta = json.loads(bytes(npz["meta"]).decode("utf-8"))
        assert npz["head.weight"].shape == (4, 3 * tier.HIDDEN)
    assert meta["pool_layers"] == [4, 5, 6] and meta["kind"] == "probe"
    loaded = tier.load_encoder_tier(load_model(student), student, blend=1.0)
    texts = [TWEETS.texts[0], TWEETS.texts[5], REVIEWS.texts[0]]
    flags = [False, False, True]
    ours = loaded.encoder.outputs(texts, flags)
    torch_side = teacher.outputs(texts, flags)
    assert np.allclose(ours, torch_side, atol=2e-3 * max(1.0, np.abs(torch_side).max()))


def test_a_head_that_does_not_fit_its_layers_is_a_model_file_error(tmp_path: Path) -> None:
    student = tmp_path / "model.npz"
    load_model(None).save(student)
    meta = json.dumps({"max_len": [64, 128], "pool_layers": [5, 6]}).encode("utf-8")
    np.savez_compressed(
        tier.encoder_file(student),
        meta=np.frombuffer(meta, dtype=np.uint8),
        **{"head.weight": np.zeros((4, 3 * tier.HIDDEN)), "head.bias": np.zeros(4)},
    )
    with pytest.raises(tier.ModelFileError, match="does not fit layers"):
        tier.load_encoder_tier(load_model(student), student, blend=0.5)
