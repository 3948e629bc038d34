"""Readers for the labelled development data laid out as in ``../shared/datasets``.

Only paths given by the caller are read; nothing here is called at import. Each
reader returns plain lists so training and the benchmark share one definition of
the labels:

- ``x-ci/dev.csv``: brand-directed tweets; complaint 0/1 and severity 0-4.
- ``cesamard/dev.csv``: long product reviews (stand-in for email); ``Title`` +
  ``Review_S``, complaint 0/1 and named severity levels mapped to 0-4.
- ``goemotions/{train,dev}.tsv``: Reddit comments; frustration = anger, annoyance or
  disappointment (ids 2, 3, 9). Weak supervision only.
- ``tweeteval-emotion``: anger (0) vs other; ``tweeteval-sentiment``: negative (0).
- ``vader-tweets/tweets_GroundTruth.txt``: mean human sentiment rating -4..+4.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

SEVERITY_NAMES = {
    "non-complaint": 0,
    "no explicit reproach": 1,
    "disapproval": 2,
    "accusation": 3,
    "blame": 4,
}
FRUSTRATION_EMOTIONS = frozenset({"2", "3", "9"})


@dataclass(frozen=True)
class Labelled:
    """Texts with a binary label and, where the data has one, a graded target."""

    name: str
    texts: list[str]
    labels: list[int]
    grades: list[float]
    channel: str
    groups: list[str]


def _csv_rows(path: Path) -> list[dict[str, str]]:
    csv.field_size_limit(10_000_000)
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def load_xci(data_dir: Path) -> Labelled:
    rows = _csv_rows(data_dir / "x-ci" / "dev.csv")
    return Labelled(
        name="x-ci",
        texts=[r["tweet"] for r in rows],
        labels=[int(r["label"]) for r in rows],
        grades=[float(r["Severity"]) for r in rows],
        channel="x",
        groups=[r["domain"] for r in rows],
    )


def review_text(title: str, body: str) -> str:
    body = body.replace("\\n", "\n").strip()
    title = title.strip()
    return f"{title}.\n{body}" if title else body


def load_cesamard(data_dir: Path) -> Labelled:
    rows = [r for r in _csv_rows(data_dir / "cesamard" / "dev.csv") if r["Review_S"].strip()]
    return Labelled(
        name="cesamard",
        texts=[review_text(r["Title"], r["Review_S"]) for r in rows],
        labels=[int(r["Complaint"]) for r in rows],
        grades=[float(SEVERITY_NAMES.get(r["Severity"].strip().lower(), 0)) for r in rows],
        channel="email",
        groups=[r["Domain"] for r in rows],
    )


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def load_goemotions(data_dir: Path, split: str = "train") -> Labelled:
    texts: list[str] = []
    labels: list[int] = []
    for line in _lines(data_dir / "goemotions" / f"{split}.tsv"):
        parts = line.split("\t")
        if len(parts) < 2:
            continue
        texts.append(parts[0])
        labels.append(int(bool(FRUSTRATION_EMOTIONS & set(parts[1].split(",")))))
    return Labelled("goemotions", texts, labels, [float(v) for v in labels], "x", [])


def load_tweeteval_emotion(data_dir: Path, split: str = "train") -> Labelled:
    base = data_dir / "tweeteval-emotion"
    texts = _lines(base / f"{split}_text.txt")
    labels = [int(v.strip() == "0") for v in _lines(base / f"{split}_labels.txt")]
    return Labelled("tweeteval-emotion", texts, labels, [float(v) for v in labels], "x", [])


def load_tweeteval_sentiment(data_dir: Path) -> Labelled:
    base = data_dir / "tweeteval-sentiment"
    texts = _lines(base / "val_text.txt")
    raw = [int(v.strip()) for v in _lines(base / "val_labels.txt")]
    labels = [int(v == 0) for v in raw]
    return Labelled("tweeteval-sentiment", texts, labels, [1.0 - v for v in raw], "x", [])


def load_vader_tweets(data_dir: Path) -> Labelled:
    texts: list[str] = []
    ratings: list[float] = []
    for line in _lines(data_dir / "vader-tweets" / "tweets_GroundTruth.txt"):
        parts = line.split("\t", 2)
        if len(parts) == 3:
            ratings.append(float(parts[1]))
            texts.append(parts[2])
    labels = [int(r < -0.5) for r in ratings]
    return Labelled("vader-tweets", texts, labels, ratings, "x", [])
