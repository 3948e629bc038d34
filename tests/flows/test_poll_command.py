"""`poll --once`, `export mentions` and `import` through the real command, against the
fake X API (real tweepy) and a real Dovecot."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine, select

from monitor.db import make_sessionmaker
from monitor.models import Case, Event, Mention, Quarantine
from tests.cli_helpers import run_cli
from tests.support import wipe

EMAIL = (
    "From: Dan Devlin <dan@example.org>\r\n"
    "To: support@acme.test\r\n"
    "Subject: Slack invite?\r\n"
    "Message-ID: <first@example.org>\r\n"
    "Date: Mon, 02 Nov 2026 09:00:00 +0000\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    "Hi, on the call you promised to add me to your Slack channel. Nothing yet.\r\n"
)


def write_config(tmp_path: Path, url: str, x_api, imap_account) -> Path:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"""
database:
  url: {url}
sources:
  twitter:
    enabled: true
    user_id: "{x_api.brand_id}"
    bearer_token_env: CM_TEST_X_BEARER
    api_base_url: {x_api.base_url}
    timeout_seconds: 5
    first_poll: {{start: all}}  # the fake X's posts are dated 2024
  email:
    enabled: true
    host: {imap_account.server.host}
    port: {imap_account.server.port}
    tls: none
    username: {imap_account.username}
    password_env: CM_TEST_IMAP_PASSWORD
    folders: [INBOX]
    own_addresses: [support@acme.test]
""",
        encoding="utf-8",
    )
    return cfg


def test_poll_once_export_and_reimport(
    tmp_path: Path, committed_engine: Engine, x_api, imap_account
) -> None:
    url = committed_engine.url.render_as_string(hide_password=False)
    cfg = write_config(tmp_path, url, x_api, imap_account)
    env = {"CM_TEST_X_BEARER": x_api.bearer_token, "CM_TEST_IMAP_PASSWORD": imap_account.password}
    imap_account.deliver(EMAIL.encode())
    dan = x_api.add_user("devdan", followers=12_000)
    x_api.mention(
        dan,
        "@acme I emailed you from dan@example.org about a Slack invite "
        "three days ago. Still nothing!",
    )
    x_api.mention_raw({"id": "1", "author_id": dan, "created_at": "yesterday"}, key=1)

    first = run_cli("--config", str(cfg), "poll", "--once", env=env)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert any(line.startswith("x:mentions: fetched 1, new 1") for line in lines), lines
    assert any(line.startswith("email:INBOX: fetched 1, new 1") for line in lines), lines

    again = run_cli("--config", str(cfg), "poll", "--once", env=env)
    assert again.returncode == 0, again.stderr
    assert all("new 0" in line for line in again.stdout.splitlines()), again.stdout

    with make_sessionmaker(committed_engine)() as s:
        mentions = s.scalars(select(Mention)).all()
        assert {m.channel for m in mentions} == {"x", "email"}
        assert len({m.customer_id for m in mentions}) == 1
        case = s.scalars(select(Case)).one()
        assert case.hop_from in {"x", "email"}  # whichever source was polled second hopped
        assert s.scalars(select(Event).where(Event.kind == "case.channel_hop")).first()
        assert s.scalars(select(Quarantine)).first() is not None

    exported = run_cli("--config", str(cfg), "export", "mentions", env=env)
    assert exported.returncode == 0, exported.stderr
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    assert len(rows) == 2
    for row in rows:
        assert {
            "channel",
            "external_id",
            "author",
            "text",
            "created_at",
            "case_id",
            "customer_id",
            "score",
        } <= row.keys()
        assert isinstance(row["score"], int)

    dump = tmp_path / "mentions.jsonl"
    dump.write_text(exported.stdout + "{not json\n" + '{"channel": "x"}\n', encoding="utf-8")
    wipe(committed_engine)  # backfill into the same, now empty, database
    env2 = {"DATABASE_URL": url}
    imported = run_cli("import", str(dump), env=env2)
    assert imported.returncode == 0, imported.stderr
    assert "2 new mentions" in imported.stdout and "2 quarantined" in imported.stdout
    twice = run_cli("import", str(dump), env=env2)
    assert "0 new mentions, 2 already stored" in twice.stdout


def test_import_x_api_dump(tmp_path: Path, empty_db_url: str) -> None:
    page = {
        "data": [
            {
                "id": "1860000000000000001",
                "text": "@acme refund please",
                "author_id": "42",
                "created_at": "2026-11-01T10:00:00.000Z",
                "conversation_id": "1860000000000000001",
            },
            {
                "id": "1860000000000000002",
                "text": "@acme hello?",
                "author_id": "42",
                "created_at": "2026-11-01T12:00:00.000Z",
                "conversation_id": "1860000000000000001",
            },
        ],
        "includes": {
            "users": [
                {
                    "id": "42",
                    "username": "zoe",
                    "name": "Zoe",
                    "public_metrics": {"followers_count": 50},
                }
            ]
        },
        "meta": {
            "result_count": 2,
            "newest_id": "1860000000000000002",
            "oldest_id": "1860000000000000001",
        },
    }
    dump = tmp_path / "x.json"
    dump.write_text(json.dumps(page) + "\n", encoding="utf-8")
    env = {"DATABASE_URL": empty_db_url}
    assert run_cli("db", "upgrade", env=env).returncode == 0
    out = run_cli("import", str(dump), env=env)
    assert out.returncode == 0, out.stderr
    assert "2 new mentions" in out.stdout
    exported = run_cli("export", "mentions", env=env)
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [r["author"] for r in rows] == ["zoe", "zoe"]
    assert len({r["case_id"] for r in rows}) == 1


def test_import_stores_the_lines_it_can_and_names_each_bad_one(
    tmp_path: Path, empty_db_url: str
) -> None:
    """Issue 12 item 1: one line holding a lone surrogate (valid JSON) made `import`
    print a traceback and store none of the file's 16 lines."""
    lines = [
        {
            "channel": "email",
            "external_id": f"<m{i}@example.org>",
            "author": "zoe@example.org",
            "text": f"message {i}",
            "created_at": "2026-11-01T10:00:00Z",
        }
        for i in range(14)
    ]
    lines.append(
        {
            "channel": "x",
            "external_id": "77",
            "author": "\ud800",
            "text": "an author id that is not text",
            "created_at": "2026-11-01T11:00:00Z",
        }
    )
    lines.append(
        {
            "channel": "x",
            "external_id": "78",
            "author": "zoe",
            "text": "half an emoji \ud83d",
            "created_at": "2026-11-01T12:00:00Z",
        }
    )
    dump = tmp_path / "mixed.jsonl"
    dump.write_text("".join(json.dumps(obj) + "\n" for obj in lines), encoding="ascii")
    env = {"DATABASE_URL": empty_db_url}
    assert run_cli("db", "upgrade", env=env).returncode == 0

    out = run_cli("import", str(dump), env=env)

    assert out.returncode == 0, out.stderr
    assert "16 lines, 15 new mentions, 0 already stored, 1 quarantined" in out.stdout
    assert "Traceback" not in out.stderr
    assert out.stderr.splitlines() == [
        f"{dump}: quarantined (id 77): author contains a lone surrogate (not valid Unicode)"
    ]
    exported = run_cli("export", "mentions", env=env)
    texts = [json.loads(line)["text"] for line in exported.stdout.splitlines()]
    assert len(texts) == 15 and "half an emoji \ufffd" in texts


def test_poll_once_goes_past_mentions_that_cannot_be_stored(
    tmp_path: Path, committed_engine: Engine, x_api
) -> None:
    """Issue 12 item 1 through the real command: one mention with a lone surrogate made
    every poll of X fail before anything was recorded."""
    cfg = tmp_path / "config.yaml"
    url = committed_engine.url.render_as_string(hide_password=False)
    cfg.write_text(
        f"database: {{url: {url}}}\n"
        f"sources: {{twitter: {{enabled: true, user_id: '{x_api.brand_id}', "
        f"bearer_token_env: CM_TEST_X_BEARER, api_base_url: '{x_api.base_url}', "
        "timeout_seconds: 5, first_poll: {start: all}}}\n",
        encoding="utf-8",
    )
    env = {"CM_TEST_X_BEARER": x_api.bearer_token}
    ann = x_api.add_user("ann")
    x_api.mention(ann, "@brand the app crashes \ud83d")
    x_api.mention("99\udc00", "@brand an author id that is not text")
    x_api.mention(ann, "@brand still crashing")

    out = run_cli("--config", str(cfg), "poll", "--once", env=env)

    assert out.returncode == 0, out.stderr
    assert "x:mentions: fetched 3, new 2, duplicates 0, quarantined 1" in out.stdout, out
    assert "Traceback" not in out.stderr
    x_api.mention(ann, "@brand hello?")
    again = run_cli("--config", str(cfg), "poll", "--once", env=env)
    assert "x:mentions: fetched 1, new 1" in again.stdout, again


def test_import_sets_customer_values_and_refuses_bad_ones(
    tmp_path: Path, empty_db_url: str
) -> None:
    """Issue 17: the scorer reads Customer.value; import (here a CRM's key accounts beside
    the mentions) sets it, and a value out of range or for nobody is refused by line."""

    def mention(i: int, author: str, **extra: object) -> dict[str, object]:
        return {"channel": "email", "external_id": f"<v{i}@example.org>", "author": author,
                "text": f"my order A-{i} never came", "created_at": "2026-11-01T10:00:00Z",
                **extra}  # fmt: skip

    lines = [
        mention(1, "Zoe@Example.org", customer_value=2.5),  # on the mention line
        mention(2, "max@example.org"),
        {"channel": "email", "author": "max@example.org", "customer_value": 7},  # alone
        {"channel": "email", "author": "nobody@example.org", "customer_value": 1},
        mention(3, "ivy@example.org", customer_value=-1),
        {"channel": "email", "author": "max@example.org", "customer_value": "lots"},
    ]
    dump = tmp_path / "values.jsonl"
    dump.write_text("".join(json.dumps(obj) + "\n" for obj in lines), encoding="utf-8")
    env = {"DATABASE_URL": empty_db_url}
    assert run_cli("db", "upgrade", env=env).returncode == 0

    out = run_cli("import", str(dump), env=env)

    assert out.returncode == 0, out.stderr
    assert "6 lines, 2 new mentions, 0 already stored, 3 quarantined, 2 customer values set" in (
        out.stdout
    )
    assert sorted(out.stderr.splitlines()) == sorted([
        f"{dump}: quarantined: line 4: customer_value: no customer has the email identity "
        "'nobody@example.org' (import their mentions)",
        f"{dump}: quarantined: line 5: customer_value -1: a customer's value is a number "
        "from 0 to 100",
        f"{dump}: quarantined: line 6: customer_value 'lots' is not a number",
    ])  # fmt: skip
    exported = run_cli("export", "mentions", env=env)
    values = {
        r["author_id"]: r["customer_value"]
        for r in map(json.loads, exported.stdout.split("\n")[:-1])
    }
    assert values == {"zoe@example.org": 2.5, "max@example.org": 7.0}
