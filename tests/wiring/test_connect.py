"""run_connect's loopback listener, in process: it listens before it says it waits."""

from __future__ import annotations

import io
import socket
import threading
from pathlib import Path

import pytest
import requests
from sqlalchemy import Engine

from monitor.config import load_config
from monitor.wiring.connect import run_connect
from tests.connections.support import SECRET
from tests.connections.test_connect_command import free_port, write_config
from tests.fakes.oauth_server import OAuthState


class BrowserAtTheWaitingLine(io.StringIO):
    """The CLI's stdout, played by an admin who opens the URL the moment they are told to
    wait: the listener must already be bound when that line is written."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port
        self.refused: OSError | None = None
        self.browser: threading.Thread | None = None

    def write(self, text: str) -> int:
        if "Waiting for the provider" in text:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=2).close()
            except OSError as exc:
                self.refused = exc
            url = self.getvalue().split("approve:\n", 1)[1].split()[0]
            self.browser = threading.Thread(
                target=requests.get, args=(url,), kwargs={"timeout": 10}
            )
            self.browser.start()
        return super().write(text)


@pytest.mark.db
def test_the_listener_is_bound_before_the_waiting_line(
    tmp_path: Path, committed_engine: Engine, oauth_server: OAuthState
) -> None:
    port = free_port()
    config = write_config(
        tmp_path,
        oauth_server,
        flow="authorization_code",
        redirect_uri=f"http://127.0.0.1:{port}/callback",
    )
    loaded = load_config(config, environ={"COMPLAINT_MONITOR_SECRET": SECRET})
    out = BrowserAtTheWaitingLine(port)
    line = run_connect(loaded, committed_engine, "email", out=out)
    assert out.browser is not None
    out.browser.join(10)
    assert out.refused is None, f"nothing listened when the CLI said it waited: {out.refused}"
    assert line.startswith("email connected as")
