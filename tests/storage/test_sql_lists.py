"""``one_of``: a many-value IN bound as one parameter finds what a plain IN finds, keeps
one statement text whatever the list's length, and still searches the index."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from monitor.db import Base
from monitor.models import Customer, Mention
from monitor.storage.sql_lists import one_of

T = Base.metadata.tables
AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
UNIQUE = "uq_mentions_channel_external_id"
NAMES = ["Pat", "O'Brien", 'say "hi"', "Zoë 🙂", "back\\slash", "[1, 2]", "", "pat"]


def _customers(session: Session) -> dict[str, int]:
    rows = [{"display_name": n, "value": 0.0, "created_at": AT} for n in NAMES]
    ids = session.execute(
        insert(T["customers"]).returning(T["customers"].c.id, sort_by_parameter_order=True), rows
    ).scalars()
    return dict(zip(NAMES, ids, strict=True))


@pytest.mark.parametrize(
    "wanted",
    [[], ["Pat"], ["O'Brien", 'say "hi"', "Zoë 🙂"], ["back\\slash", "[1, 2]", ""], NAMES],
)
def test_strings_match_a_plain_in(session: Session, wanted: list[str]) -> None:
    ids = _customers(session)
    dialect = session.connection().dialect
    mine = set(ids.values())
    ours = session.scalars(
        select(Customer.id).where(one_of(Customer.display_name, wanted, dialect))
    ).all()
    plain = session.scalars(select(Customer.id).where(Customer.display_name.in_(wanted))).all()
    assert set(ours) & mine == set(plain) & mine == {ids[n] for n in wanted}


def test_a_longer_value_does_not_match_its_prefix(session: Session) -> None:
    """display_name is VARCHAR(200): a 201-character value must not match the stored
    200-character prefix (a VARCHAR(200)[] cast on PostgreSQL would cut it)."""
    session.execute(
        insert(T["customers"]), [{"display_name": "x" * 200, "value": 0.0, "created_at": AT}]
    )
    dialect = session.connection().dialect
    found = session.scalars(
        select(Customer.id).where(one_of(Customer.display_name, ["x" * 201], dialect))
    ).all()
    assert found == []


def test_integers_match_and_unknown_ids_find_nothing(session: Session) -> None:
    ids = _customers(session)
    dialect = session.connection().dialect
    wanted = [ids["Pat"], ids["pat"], 10**12, -1]
    found = session.scalars(select(Customer.id).where(one_of(Customer.id, wanted, dialect))).all()
    assert sorted(found) == sorted([ids["Pat"], ids["pat"]])
    assert session.scalars(select(Customer.id).where(one_of(Customer.id, [], dialect))).all() == []


def test_one_statement_text_for_any_length(session: Session) -> None:
    dialect = session.connection().dialect
    texts = {
        str(
            select(Customer.id)
            .where(one_of(Customer.id, range(n), dialect))
            .compile(dialect=dialect)
        )
        for n in (1, 2, 500, 5000)
    }
    assert len(texts) == 1
    plain = {
        str(
            select(Customer.id)
            .where(Customer.id.in_(list(range(n))))
            .compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        )
        for n in (1, 2)
    }
    assert len(plain) == 2  # what one_of avoids: a new text per length


def test_the_index_is_searched(session: Session) -> None:
    dialect = session.connection().dialect
    stmt = select(Mention.id).where(
        Mention.channel == "x", one_of(Mention.external_id, ["1", "2"], dialect)
    )
    compiled = stmt.compile(dialect=dialect)
    conn = session.connection()
    if dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # tiny tables: force the choice
        raw = conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params)
        plan = "\n".join(str(r[0]) for r in raw)
        assert "Index" in plan and UNIQUE in plan, plan
    else:
        params = tuple(compiled.params[k] for k in compiled.positiontup or ())
        raw = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), params)
        plan = "\n".join(str(r[-1]) for r in raw)
        assert "SEARCH mentions USING COVERING INDEX" in plan, plan


def test_an_integer_beyond_64_bits_matches_nothing_and_is_no_error(session: Session) -> None:
    ids = _customers(session)
    dialect = session.connection().dialect
    wanted = [ids["Pat"], 2**63, -(2**63) - 1, 10**30]
    found = session.scalars(select(Customer.id).where(one_of(Customer.id, wanted, dialect))).all()
    assert found == [ids["Pat"]]
