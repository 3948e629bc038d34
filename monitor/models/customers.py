"""Customers and their identities on each channel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, orm_insert_sentinel, relationship

from monitor.db import Base, id_column


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = id_column()
    display_name: Mapped[str] = mapped_column(String(200), default="")
    value: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime]
    # Lets SQLite insert many new rows in one statement and still match the ids it
    # returns to the objects (SQLAlchemy "insertmanyvalues" sentinel); always NULL.
    _sentinel: Mapped[int | None] = orm_insert_sentinel()

    identities: Mapped[list[Identity]] = relationship(back_populates="customer")


class Identity(Base):
    """One external identity (X user id, email address) of a customer."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("kind", "handle"),)

    id: Mapped[int] = id_column()
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    handle: Mapped[str] = mapped_column(String(320))
    username: Mapped[str | None] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(200))
    followers: Mapped[int | None] = mapped_column(Integer)
    linked_by: Mapped[str] = mapped_column(String(32), default="auto")
    created_at: Mapped[datetime]
    # Lets SQLite insert many new rows in one statement and still match the ids it
    # returns to the objects (SQLAlchemy "insertmanyvalues" sentinel); always NULL.
    _sentinel: Mapped[int | None] = orm_insert_sentinel()

    customer: Mapped[Customer] = relationship(back_populates="identities")
