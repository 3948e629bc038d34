"""What the text part's reason says, through the real `complaint-monitor score`."""

from __future__ import annotations

import json

from monitor.scoring import TextScore
from monitor.scoring.text_model import FINDINGS, SEVERITY_LABELS
from tests.cli_helpers import run_cli


def test_every_label_has_a_finding_that_names_what_earns_points() -> None:
    assert set(FINDINGS) == set(SEVERITY_LABELS)
    for label in SEVERITY_LABELS[1:]:
        assert FINDINGS[label].startswith("complaint")
        assert "no " not in FINDINGS[label]


def test_a_stored_text_score_of_the_old_form_still_reads() -> None:
    stored = {
        "v": 1,
        "complaint": 0.9,
        "severity": 1.2,
        "label": "no explicit reproach",
        "points": 34,
        "cues": [["repeated problem", 4]],
    }
    ts = TextScore.from_dict(stored)
    assert ts.reasons() == [
        "text: complaint reporting a problem (+34)",
        "text: repeated problem (+4)",
    ]
    assert ts.to_dict() == stored


def test_score_reasons_name_the_finding() -> None:
    lines = [
        {"id": "a", "text": "@acme where is my parcel? ordered 2 weeks ago, still nothing"},
        {"id": "b", "text": "@acme lovely staff in the Leeds shop today, thank you"},
    ]
    result = run_cli("score", input="".join(json.dumps(x) + "\n" for x in lines))
    assert result.returncode == 0, result.stderr
    first, second = (json.loads(line)["reasons"][0] for line in result.stdout.splitlines())
    assert first.startswith("text: complaint")
    assert second.startswith("text: little sign of a complaint")
    assert "reproach" not in first + second
