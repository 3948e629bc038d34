"""The student: ridge heads that imitate a teacher's outputs, blended into the model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from monitor.scoring import data as ds
from monitor.scoring.student import fit_student_heads
from monitor.scoring.train import TrainParams, fit

F64 = npt.NDArray[np.float64]
ANGRY = ["my refund never came", "refund me now", "where is my refund", "still no refund"]
CALM = ["thanks for the help", "lovely service", "see you tomorrow", "the shop opens at nine"]


def teacher_says(texts: Sequence[str]) -> F64:
    """A stand-in teacher: 'refund' means an angry complaint (logit 4, severity 3)."""
    angry = np.asarray(["refund" in t for t in texts], dtype=np.float64)
    return np.stack([8 * angry - 4, 8 * angry - 4, 3 * angry, 3 * angry], axis=1)


class FixedTeacher:
    def __init__(self, on_train: F64, on_extra: F64) -> None:
        self.on_train, self.on_extra = on_train, on_extra
        self.calls = 0

    def soft_targets(
        self, train_sets: Sequence[ds.Labelled], unlabelled: Sequence[str]
    ) -> tuple[F64, F64]:
        self.calls += 1
        return self.on_train, self.on_extra

    def describe(self) -> dict[str, str]:
        return {"encoder": "fixed"}


def test_student_learns_a_word_it_saw_only_in_unlabelled_text() -> None:
    texts = ANGRY + CALM
    heads, bias = fit_student_heads(
        texts, np.zeros(len(texts), dtype=bool), teacher_says(texts), None
    )
    from monitor.scoring.text_model import TextModel

    model = TextModel(weights=heads.astype(np.float32), bias=bias.astype(np.float32))
    out = model.raw_outputs(["a refund please", "thanks, lovely"])[0]
    assert out[0, 0] > 1.0 > -1.0 > out[1, 0]
    assert out[0, 2] > out[1, 2]


def test_teacher_share_blends_distilled_and_label_heads() -> None:
    tweets = ds.Labelled("t", ["bad service", "good service"], [1, 0], [2.0, 0.0], "x", [])
    unlabelled = ANGRY + CALM
    teacher = FixedTeacher(teacher_says(tweets.texts), teacher_says(unlabelled))
    plain = TrainParams(severity_blend=0.0, aux_weight=0.0, embed_dims=0)
    labels_only = fit([tweets], plain)
    taught = fit(
        [tweets],
        TrainParams(
            severity_blend=0.0,
            aux_weight=0.0,
            embed_dims=0,
            teacher_blend=1.0,
            teacher_blend_severity=1.0,
        ),
        teacher=teacher,
        unlabelled=unlabelled,
    )
    assert teacher.calls == 1
    probe = ["where is my refund", "good service"]
    before = labels_only.raw_outputs(probe)[0][:, 0]
    after = taught.raw_outputs(probe)[0][:, 0]
    # the labels never saw "refund"; the teacher's word moves it up the ranking
    assert after[0] - after[1] > before[0] - before[1] + 2.0
    assert taught.meta["teacher"] == {"encoder": "fixed"}
    assert taught.meta["distil_texts"] == len(unlabelled)
