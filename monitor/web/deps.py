"""FastAPI dependencies: a database session per request, the clock, the settings, and
the box that seals stored secrets."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from monitor.config import LoadedConfig
from monitor.db import utcnow
from monitor.storage.secret_box import SecretBox


def get_sessionmaker(request: Request) -> sessionmaker[Session]:
    maker: sessionmaker[Session] = request.app.state.sessionmaker
    return maker


def get_db(request: Request) -> Iterator[Session]:
    """One session per request; committed if the handler returns, rolled back if it raises."""
    with get_sessionmaker(request).begin() as session:
        yield session


def get_now(request: Request) -> datetime:
    clock = getattr(request.app.state, "clock", None)
    return clock() if clock is not None else utcnow()


def get_secret_box(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.secret_box
    return box


def get_link_secret(request: Request) -> str:
    secret: str = request.app.state.link_secret
    return secret


def get_config(request: Request) -> LoadedConfig:
    loaded: LoadedConfig = request.app.state.config
    return loaded


# Committed before the response is sent (the default "request" scope of a dependency
# with yield exits only after the response went out, so a client could read its own
# write before it is committed, and a failed commit would go unreported). Every route
# uses this one session per request; DbSession is the same dependency under its older
# name, so nothing can open a second, late-committing session by accident.
DbTx = Annotated[Session, Depends(get_db, scope="function")]
DbSession = DbTx
Now = Annotated[datetime, Depends(get_now)]
Config = Annotated[LoadedConfig, Depends(get_config)]
Box = Annotated[SecretBox, Depends(get_secret_box)]  # seals webhook signing secrets
LinkSecret = Annotated[str, Depends(get_link_secret)]  # signs survey links
