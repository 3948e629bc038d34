"""Customer-supplied text in the console: escaped, isolated, invisible characters shown,
long bodies cut.

- ``user_text``: escapes, wraps in ``<bdi>`` (a name or message written right-to-left
  cannot reorder the text around it), and replaces control and format characters
  (bidirectional overrides and isolates, zero-width characters, C0/C1 controls, tag
  characters) with a visible marker ``⟨U+202E⟩``: after U+202E, "gnp.exe" would
  display as "exe.png". Newlines, tabs and carriage returns stay; ZWJ and ZWNJ stay
  (emoji sequences and several scripts need them). A run of more than ``RUN`` visible
  characters without a space is marked to break anywhere (``span.run``), so a 1 MB
  "word" wraps at the box's edge without ``overflow-wrap: anywhere`` over the whole
  text.
- ``user_plain``: the same markers as plain text, for attributes and ``<title>``.
- ``long_text``: a body over ``MAX_CHARS`` characters or ``MAX_LINES`` lines shows its
  start and a "Show all" button that fetches the rest (static/console.js).
"""

from __future__ import annotations

import re
import unicodedata

from jinja2 import Environment
from markupsafe import Markup, escape

MAX_CHARS = 4000
MAX_LINES = 40
RUN = 64  # an unbroken run longer than this may break anywhere
KEEP = frozenset("\n\t\r\u200c\u200d")
# Every Cc and Cf character (and the line/paragraph separators), as of Unicode 15;
# tests/web/test_text.py checks this against the running Python's Unicode database.
HIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f"
    "\u0890\u0891\u08e2\u180e\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f"
    "\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)
LONG_RUN = re.compile(r"\S{" + str(RUN + 1) + ",}")


def _label(char: str) -> str:
    code = f"U+{ord(char):04X}"
    name = unicodedata.name(char, "")
    return f"{code} {name}" if name else code


def marker(char: str) -> str:
    return f"⟨U+{ord(char):04X}⟩"


def _breakable(text: str) -> str:
    """Escaped text; each run longer than RUN without a space sits in a ``span.run`` that
    may break between any two characters (CSS ``word-break: break-all``)."""
    out: list[str] = []
    pos = 0
    for m in LONG_RUN.finditer(text):
        out.append(str(escape(text[pos : m.start()])))
        out.append(f'<span class="run">{escape(m.group())}</span>')
        pos = m.end()
    out.append(str(escape(text[pos:])))
    return "".join(out)


def _as_text(value: object) -> str:
    return "" if value is None else str(value)


def user_text(value: object) -> Markup:
    """Customer text as safe, isolated HTML with invisible characters made visible."""
    text = _as_text(value)
    out: list[str] = []
    pos = 0
    for m in HIDDEN.finditer(text):
        out.append(_breakable(text[pos : m.start()]))
        char = m.group()
        out.append(f'<span class="ctl" title="{escape(_label(char))}">{marker(char)}</span>')
        pos = m.end()
    out.append(_breakable(text[pos:]))
    return Markup('<bdi class="ut">' + "".join(out) + "</bdi>")  # noqa: S704 (all escaped above)


def user_plain(value: object) -> str:
    """Customer text with invisible characters as visible markers (Jinja escapes it)."""
    return HIDDEN.sub(lambda m: marker(m.group()), _as_text(value))


def cut_point(text: str) -> int | None:
    """Where a long body is cut for display, or None when it is shown whole."""
    cut = MAX_CHARS if len(text) > MAX_CHARS else None
    if text.count("\n", 0, (cut or len(text))) >= MAX_LINES:
        pos = -1
        for _ in range(MAX_LINES):
            pos = text.index("\n", pos + 1)
        cut = pos if cut is None else min(cut, pos)
    return cut


def long_text(value: object, more_url: str) -> Markup:
    """``user_text``, cut at MAX_CHARS / MAX_LINES with a "Show all" button that loads
    the whole text from ``more_url``."""
    text = _as_text(value)
    cut = cut_point(text)
    if cut is None:
        return user_text(text)
    return Markup(
        '<span class="long-text">{head}<span class="long-more">… '
        '<button type="button" class="show-all" data-more-url="{url}">'
        "Show all ({count} characters)</button></span></span>"
    ).format(head=user_text(text[:cut]), url=more_url, count=f"{len(text):,}")


def install(env: Environment) -> None:
    env.filters.update({"user_text": user_text, "user_plain": user_plain, "long_text": long_text})
