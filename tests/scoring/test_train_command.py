"""`complaint-monitor train-scorer` end to end on a tiny data set written here."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from monitor.scoring import commands
from tests.cli_helpers import run_cli

COMPLAINTS = [
    "@acme my parcel is lost again, third time I ask for a refund",
    "@acme you charged me twice and nobody answers",
    "@acme the app keeps crashing since the update, useless",
    "@acme still waiting for my refund after 3 weeks",
]
PRAISE = [
    "@acme thanks for the quick help today",
    "@acme love the new design, well done",
    "@acme when does the new store open?",
    "@acme great service as always",
]


def write_datasets(root: Path) -> Path:
    """The shared datasets layout, filled with a few texts written for this test."""
    (root / "x-ci").mkdir(parents=True)
    with (root / "x-ci" / "dev.csv").open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["tweet", "label", "domain", "Severity"])
        for i, text in enumerate(COMPLAINTS):
            out.writerow([text, 1, "retail", 2 + i % 3])
        for text in PRAISE:
            out.writerow([text, 0, "random_tweet", 0])
    (root / "cesamard").mkdir()
    with (root / "cesamard" / "dev.csv").open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["Title", "Review_S", "Complaint", "Severity", "Domain"])
        out.writerow(["Broken", "Arrived broken and support ignored me.", 1, "Blame", "d"])
        out.writerow(
            ["Faulty", "Stopped working after two days, want refund.", 1, "Accusation", "d"]
        )
        out.writerow(["Great", "Works well, happy with it.", 0, "Non-Complaint", "d"])
        out.writerow(["Nice", "Good value and fast delivery.", 0, "Non-Complaint", "d"])
    (root / "goemotions").mkdir()
    for split in ("train", "dev"):
        (root / "goemotions" / f"{split}.tsv").write_text(
            "this is so annoying\t3\nwhat a lovely day\t17\nI am furious\t2\n", encoding="utf-8"
        )
    (root / "tweeteval-sentiment").mkdir()
    (root / "tweeteval-sentiment" / "val_text.txt").write_text(
        "awful day\nnice one\nok then\n", encoding="utf-8"
    )
    (root / "tweeteval-sentiment" / "val_labels.txt").write_text("0\n2\n1\n", encoding="utf-8")
    return root


def test_train_then_score_with_the_new_model(tmp_path: Path) -> None:
    data = write_datasets(tmp_path / "data")
    model = tmp_path / "model.npz"
    trained = run_cli("train-scorer", "--data", str(data), "--out", str(model), "--no-teacher")
    assert trained.returncode == 0, trained.stderr
    assert "teacher: off" in trained.stderr
    assert model.is_file()
    config = tmp_path / "config.yaml"
    config.write_text(f"scoring:\n  model_path: {json.dumps(str(model))}\n", encoding="utf-8")
    lines = [
        {"id": 1, "text": "@acme lost my parcel again, refund me, useless"},
        {"id": 2, "text": "@acme thanks, great help"},
    ]
    scored = run_cli(
        "--config", str(config), "score", input="".join(json.dumps(x) + "\n" for x in lines)
    )
    assert scored.returncode == 0, scored.stderr
    out = [json.loads(line) for line in scored.stdout.splitlines()]
    assert [o["id"] for o in out] == [1, 2]
    assert out[0]["score"] > out[1]["score"]


def test_without_the_extra_training_says_so_and_uses_the_labels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitor.scoring import teacher

    monkeypatch.setattr(teacher, "teacher_available", lambda: False)
    data = write_datasets(tmp_path / "data")
    figures, note = commands.train_scorer(data, tmp_path / "m.npz")
    assert note.startswith("teacher: not installed")
    assert "pip install -e '.[train]'" in note
    assert figures["distil_texts"] == 0
    assert (tmp_path / "m.npz").stat().st_size == figures["model_bytes"]
