"""Readable text from an HTML mail body (for messages that have no text/plain part).

Scripts, styles and the head are dropped, block elements become line breaks, list
items "- " lines, entities are unescaped; never raises.
"""

from __future__ import annotations

import contextlib
import re
from html.parser import HTMLParser

_WS_RUN = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_RUN = re.compile(r"\n{3,}")


class _HtmlText(HTMLParser):
    # fmt: off
    _DROP = frozenset({"script", "style", "head", "title", "noscript", "template", "iframe",
                       "object", "svg", "math"})
    _BLOCK = frozenset({"p", "div", "br", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6",
                        "ul", "ol", "blockquote", "hr", "section", "article", "header",
                        "footer", "pre", "address", "dd", "dt", "dl"})
    # fmt: on

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._drop: list[str] = []
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self._drop.clear()  # an unclosed <head> ends where the body starts
        if tag in self._DROP:
            self._drop.append(tag)
        elif not self._drop:
            if tag == "pre":
                self._pre += 1
            if tag == "li":
                self.parts.append("\n- ")
            elif tag in {"td", "th"}:
                self.parts.append(" ")
            elif tag in self._BLOCK:
                self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self._drop and tag in {"br", "hr"}:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._drop:
            while self._drop and self._drop.pop() != tag:
                pass
        elif not self._drop:
            if tag == "pre" and self._pre:
                self._pre -= 1
            if tag in self._BLOCK:
                self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._drop:
            return
        self.parts.append(data if self._pre else _WS_RUN.sub(" ", data.replace("\n", " ")))


def html_to_text(html: str) -> str:
    """Readable text from HTML: scripts, styles and the head dropped, entities unescaped."""
    parser = _HtmlText()
    with contextlib.suppress(Exception):  # HTMLParser is lenient; still, never crash here
        parser.feed(html)
        parser.close()
    lines = [line.strip() for line in "".join(parser.parts).split("\n")]
    return _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip()
