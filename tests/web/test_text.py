"""The filters that render customer text (monitor.web.text)."""

from __future__ import annotations

import sys
import unicodedata

from monitor.web.text import (
    HIDDEN,
    KEEP,
    MAX_CHARS,
    MAX_LINES,
    RUN,
    cut_point,
    long_text,
    user_plain,
    user_text,
)


def test_a_right_to_left_override_is_shown_not_obeyed() -> None:
    html = str(user_text("photo_\u202egnp.exe"))
    assert "\u202e" not in html
    assert html == (
        '<bdi class="ut">photo_<span class="ctl" title="U+202E RIGHT-TO-LEFT OVERRIDE">'
        "⟨U+202E⟩</span>gnp.exe</bdi>"
    )
    assert user_plain("photo_\u202egnp.exe") == "photo_⟨U+202E⟩gnp.exe"


def test_markup_is_escaped_and_newlines_tabs_and_joiners_stay() -> None:
    html = str(user_text('<script>alert("x")</script>\r\n\tok 👨\u200d👩\u200d👧'))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "\r\n\tok 👨\u200d👩\u200d👧" in html
    assert str(user_text(None)) == '<bdi class="ut"></bdi>'


def test_every_control_and_format_character_is_made_visible() -> None:
    """Checked against this Python's Unicode database, so a newer Unicode version that
    adds a format character fails here instead of slipping through."""
    missed = [
        f"U+{cp:04X}"
        for cp in range(sys.maxunicode + 1)
        if unicodedata.category(chr(cp)) in ("Cc", "Cf", "Zl", "Zp")
        and chr(cp) not in KEEP
        and not HIDDEN.fullmatch(chr(cp))
    ]
    assert missed == []
    assert not [c for c in KEEP if HIDDEN.fullmatch(c)]


def test_long_unbroken_runs_may_break_anywhere() -> None:
    html = str(user_text("see " + "&" * (RUN + 1) + " ok"))
    run = '<span class="run">' + "&amp;" * (RUN + 1) + "</span>"
    assert html == f'<bdi class="ut">see {run} ok</bdi>'  # "&amp;" never split
    assert "run" not in str(user_text("short words " * 50 + "x" * RUN))


def test_long_bodies_are_cut_with_a_show_all_button() -> None:
    assert cut_point("x" * MAX_CHARS) is None
    assert cut_point("x" * (MAX_CHARS + 1)) == MAX_CHARS
    lines = "line\n" * (MAX_LINES + 5)
    assert lines[: cut_point(lines)].count("\n") == MAX_LINES - 1  # 40 lines shown
    html = str(long_text("y" * 1_000_000, "/cases/1/mentions/2/text"))
    assert len(html) < MAX_CHARS * 2
    assert 'data-more-url="/cases/1/mentions/2/text"' in html
    assert "Show all (1,000,000 characters)" in html
    assert str(long_text("short", "/x")) == str(user_text("short"))
