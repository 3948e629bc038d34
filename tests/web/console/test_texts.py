"""Long bodies on the case page over HTTP: cut, and the whole text behind "Show all"."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from monitor.db import make_sessionmaker
from monitor.ingest.service import IngestOptions, ingest_batch
from monitor.models import Mention
from monitor.priority.service import Scorer
from monitor.sources.base import Batch
from tests.factories import T0
from tests.factories.mentions import email
from tests.fixtures.web import WebApp, csrf_of, login

pytestmark = pytest.mark.db
LONG = "word " * 3000 + "\u202eend"


def _ingest(web_app: WebApp, scorer: Scorer, *mentions: Any) -> list[Mention]:
    with make_sessionmaker(web_app.engine).begin() as s:
        batch = Batch(mentions=list(mentions), next_cursor={"n": len(mentions)})
        ingest_batch(s, batch, source="t", now=T0, scorer=scorer, options=IngestOptions())
    with make_sessionmaker(web_app.engine)() as s:
        rows = list(s.scalars(select(Mention).order_by(Mention.id)))
        s.expunge_all()
        return rows


def test_long_mentions_and_notes_are_cut_and_served_whole(
    app_client: Any, web_app: WebApp, scorer: Scorer
) -> None:
    web_app.add_staff("alice")
    mine, theirs = _ingest(
        web_app,
        scorer,
        email("long@x", LONG, sender="dan@example.org"),
        email("other@x", "someone else's words", sender="eve@example.net"),
    )
    url = f"/cases/{mine.case_id}/mentions/{mine.id}/text"
    assert app_client.get(url, follow_redirects=False).status_code == 303  # sign in first
    login(app_client, "alice")
    page = app_client.get(f"/cases/{mine.case_id}")
    assert f'data-more-url="{url}"' in page.text and "word " * 3000 not in page.text
    whole = app_client.get(url)
    assert whole.status_code == 200 and whole.headers["cache-control"] == "private, no-store"
    assert whole.text.count("word") == 3000 and "⟨U+202E⟩</span>end" in whole.text
    assert "\u202e" not in whole.text
    # Another customer's mention is not on this case's page, so not served from it.
    other = f"/cases/{mine.case_id}/mentions/{theirs.id}/text"
    assert app_client.get(other).status_code == 404
    assert app_client.get(f"/cases/999999/mentions/{mine.id}/text").status_code == 404
    assert app_client.get(f"/cases/{mine.case_id}/secrets/{mine.id}/text").status_code == 422

    note = "line\n" * 100
    form = {"text": note, "csrf_token": csrf_of(page.text)}
    assert app_client.post(f"/cases/{mine.case_id}/notes", data=form).status_code == 200
    page = app_client.get(f"/cases/{mine.case_id}").text
    found = re.search(r'data-more-url="(/cases/\d+/notes/\d+/text)"', page)
    assert found, "a 100-line note is cut"
    assert app_client.get(found.group(1)).text.count("line") == 100
