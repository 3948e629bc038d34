"""Bodies of ``complaint-monitor score`` and ``complaint-monitor train-scorer``.

``score`` contract (issue 4): JSON Lines in, ``{"id", "text", "channel"?, "author"?,
"created_at"?}``; exactly one line out per line in, in order: ``{"id", "score",
"band", "reasons"}`` or ``{"id": ... | null, "error": "..."}``. Lines are read one at a
time with a length limit and scored in batches, each batch written and flushed before
the next is read, so memory stays flat however long the input is.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from monitor.config import ScoringSettings
from monitor.scoring.context import ScoreContext, contributions
from monitor.scoring.score import assemble
from monitor.scoring.text_model import TextScorer

MAX_LINE_BYTES = 1_000_000
CHANNEL_ALIASES = {
    "x": "x",
    "twitter": "x",
    "tweet": "x",
    "x_dm": "x_dm",
    "dm": "x_dm",
    "twitter_dm": "x_dm",
    "email": "email",
    "mail": "email",
}
_CHUNK = 65_536


class _BadLine(Exception):
    def __init__(self, message: str, ident: Any = None) -> None:
        super().__init__(message)
        self.ident = ident


def _lines(stdin: BinaryIO, limit: int) -> Iterator[bytes | None]:
    """Input lines without the newline; ``None`` for a line longer than ``limit``."""
    while True:
        line = stdin.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            while True:  # skip the rest of the overlong line without holding it
                rest = stdin.readline(_CHUNK)
                if not rest or rest.endswith(b"\n"):
                    break
            yield None
            continue
        yield line.rstrip(b"\r\n")


def parse_line(raw: bytes | None, limit: int = MAX_LINE_BYTES) -> tuple[Any, str, str]:
    """(id, text, channel) of one input line, or :class:`_BadLine` with the reason."""
    if raw is None:
        raise _BadLine(f"line longer than {limit} bytes")
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _BadLine(f"not valid UTF-8 (byte {exc.start})") from None
    if not decoded.strip():
        raise _BadLine("empty line")
    try:
        obj = json.loads(decoded)
    except ValueError as exc:
        raise _BadLine(f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise _BadLine(f"expected a JSON object, got {type(obj).__name__}")
    ident = obj.get("id")
    if isinstance(ident, (dict, list)):
        raise _BadLine('"id" must be a string or a number')
    if "text" not in obj:
        raise _BadLine('missing "text"', ident)
    text = obj["text"]
    if not isinstance(text, str):
        raise _BadLine('"text" must be a string', ident)
    channel = obj.get("channel")
    if channel is None:
        return ident, text, "x"
    if not isinstance(channel, str) or channel.lower() not in CHANNEL_ALIASES:
        known = ", ".join(sorted(CHANNEL_ALIASES))
        raise _BadLine(f'unknown "channel" {channel!r} (one of: {known})', ident)
    return ident, text, CHANNEL_ALIASES[channel.lower()]


def _dump(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(", ", ": "))


def _flush(
    batch: list[tuple[Any, str, str] | _BadLine],
    stdout: TextIO,
    model: TextScorer,
    settings: ScoringSettings,
    contexts: dict[str, list[tuple[int, str]]],
) -> None:
    good = [item for item in batch if not isinstance(item, _BadLine)]
    text_scores = iter(model.text_scores([g[1] for g in good], [g[2] for g in good]))
    out: list[str] = []
    for item in batch:
        if isinstance(item, _BadLine):
            out.append(_dump({"id": item.ident, "error": str(item)}))
            continue
        result = assemble(next(text_scores), contexts[item[2]], settings)
        out.append(
            _dump(
                {
                    "id": item[0],
                    "score": result.value,
                    "band": result.band,
                    "reasons": list(result.reasons),
                }
            )
        )
    out.append("")
    stdout.write("\n".join(out))
    stdout.flush()


def score_stream(
    stdin: BinaryIO,
    stdout: TextIO,
    *,
    model: TextScorer,
    settings: ScoringSettings,
    batch_size: int = 256,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> int:
    """Score JSON Lines from ``stdin`` to ``stdout``; returns the exit code (0)."""
    now = datetime.now(UTC)
    # no history on the command line: each channel's context parts are computed once
    contexts = {
        ch: contributions(ScoreContext(now=now, channel=ch, public=ch == "x"), settings)
        for ch in ("x", "x_dm", "email")
    }
    batch: list[tuple[Any, str, str] | _BadLine] = []
    for raw in _lines(stdin, max_line_bytes):
        try:
            batch.append(parse_line(raw, max_line_bytes))
        except _BadLine as bad:
            batch.append(bad)
        if len(batch) >= batch_size:
            _flush(batch, stdout, model, settings, contexts)
            batch = []
    if batch:
        _flush(batch, stdout, model, settings, contexts)
    return 0


def train_scorer(
    data_dir: Path, out: Path, *, use_teacher: bool = True, threads: int = 1
) -> tuple[dict[str, float], str]:
    """Train the text model from ``data_dir`` into ``out``; also says how it was taught.

    The teacher (heads over a sentence encoder's layers, the ``[train]`` extra) is used when it
    is installed and ``use_teacher`` is set; otherwise the heads learn from the labels
    alone, and the returned note says why.
    """
    from monitor.scoring.teacher import INSTALL_HINT, teacher_available
    from monitor.scoring.train import train_to_file

    if not use_teacher:
        return train_to_file(data_dir, out), "teacher: off (--no-teacher), labels only"
    if not teacher_available():
        return train_to_file(data_dir, out), f"teacher: not installed, labels only; {INSTALL_HINT}"
    from monitor.scoring.encoder_tier import encoder_file
    from monitor.scoring.probe import ProbeParams, ProbeTeacher

    teacher = ProbeTeacher(ProbeParams(threads=threads))
    figures = train_to_file(data_dir, out, teacher=teacher)
    top = encoder_file(out)
    teacher.save_top(top)
    figures["encoder_file_bytes"] = float(top.stat().st_size)
    name = teacher.describe()["encoder"]
    note = f"teacher: {name}, heads on its layers 4-6, distilled; heads in {top}"
    return figures, note
