"""CI's proof that the built wheel works on its own, outside the checkout.

Builds the sdist and, from it, the wheel (``python -m build``); checks both carry
migrations/, templates/, static/ and the scoring model; installs the wheel into a fresh
venv in a temp directory; then, from an empty directory, runs what a new user would:
``db upgrade`` on a new SQLite file and on a fresh PostgreSQL database, a command on an
unmigrated database, ``serve`` (``/healthz``, the sign-in page and its CSS/JS, signing
in, ``/docs`` and its assets, all from this server), a second ``serve`` on the busy
port, and ``demo``. Prints one line per check; exits non-zero on the first failure.

Run it with the checkout's venv (it uses httpx and SQLAlchemy from there to drive the
installed one):  .venv/bin/python .ci/wheel_smoke.py
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
from sqlalchemy import create_engine, make_url, text

REPO = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REFERENCE = re.compile(r'<(?:link|script)[^>]*?(?:src|href)="([^"]+)"')
SHIPPED = ["migrations/env.py", "templates/login.html", "static/console.css"]
MIGRATIONS = sorted(p.name for p in (REPO / "migrations" / "versions").glob("*.py"))


class SmokeFailure(Exception):
    pass


def ok(what: str, detail: str = "") -> None:
    print(f"  ok  {what}{': ' + detail if detail else ''}", flush=True)


def expect(condition: bool, what: str, detail: str = "") -> None:
    if not condition:
        raise SmokeFailure(f"{what}{': ' + detail if detail else ''}")


def run(
    *cmd: str | Path, cwd: Path, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def build(tmp: Path) -> Path:
    dist = tmp / "dist"
    proc = run(sys.executable, "-m", "build", "--outdir", dist, REPO, cwd=tmp, env=dict(os.environ))
    expect(proc.returncode == 0, "python -m build", proc.stdout[-3000:] + proc.stderr[-3000:])
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    wanted = [f"monitor/_data/{p}" for p in SHIPPED] + ["monitor/scoring/model.npz"]
    wanted += [f"monitor/_data/migrations/versions/{m}" for m in MIGRATIONS]
    missing = [w for w in wanted if w not in names]
    expect(not missing, "wheel holds the data folders and the model", f"missing {missing}")
    top = sdist.name.removesuffix(".tar.gz")
    with tarfile.open(sdist) as archive:
        in_sdist = set(archive.getnames())
    missing = [p for p in [*SHIPPED, "monitor/scoring/model.npz"] if f"{top}/{p}" not in in_sdist]
    expect(not missing, "sdist holds the data folders and the model", f"missing {missing}")
    ok(
        "build (sdist, then the wheel from it)",
        f"{wheel.name} {wheel.stat().st_size / 1e6:.1f} MB, {len(names)} files, "
        f"{len(MIGRATIONS)} migrations; {sdist.name} {sdist.stat().st_size / 1e6:.1f} MB",
    )
    return wheel


def install(tmp: Path, wheel: Path) -> Path:
    venv = tmp / "venv"
    started = time.monotonic()
    proc = run(sys.executable, "-m", "venv", venv, cwd=tmp, env=dict(os.environ))
    expect(proc.returncode == 0, "python -m venv", proc.stderr)
    proc = run(
        venv / "bin" / "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
        wheel,
        cwd=tmp,
        env=dict(os.environ),
    )
    expect(proc.returncode == 0, "pip install the wheel", proc.stderr[-3000:])
    where = run(
        venv / "bin" / "python",
        "-c",
        "import monitor; print(monitor.__file__)",
        cwd=tmp,
        env=clean_env(),
    ).stdout.strip()
    expect(where.startswith(str(venv)), "monitor is imported from the new venv", where)
    ok("pip install into a fresh venv", f"{time.monotonic() - started:.0f} s, {where}")
    return venv / "bin" / "complaint-monitor"


def clean_env(**extra: str) -> dict[str, str]:
    drop = ("DATABASE_URL", "COMPLAINT_MONITOR_CONFIG", "PYTHONPATH", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def upgrade(cli: Path, work: Path, url: str, label: str) -> None:
    env = clean_env(DATABASE_URL=url)
    proc = run(cli, "db", "upgrade", cwd=work, env=env)
    expect(
        proc.returncode == 0 and "(head)" in proc.stdout,
        f"db upgrade on {label}",
        proc.stdout + proc.stderr,
    )
    current = run(cli, "db", "current", cwd=work, env=env)
    expect(current.returncode == 0, f"db current on {label}", current.stdout + current.stderr)
    ok(f"db upgrade on {label}", proc.stdout.strip())


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"cm_wheel_smoke_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def started(
    cmd: list[str | Path], work: Path, env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(c) for c in cmd], cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for(condition: object, proc: subprocess.Popen[bytes], log: Path, what: str) -> None:
    deadline = time.monotonic() + 90
    while not condition():  # type: ignore[operator]
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SmokeFailure(f"{what}: {log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)


def answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=2)
    except httpx.TransportError:
        return False
    return True


def local_assets(client: httpx.Client, path: str, kinds: set[str]) -> str:
    """GET a page, then every stylesheet/script it references; all must be local."""
    page = client.get(path)
    expect(page.status_code == 200, f"GET {path}", str(page.status_code))
    refs = REFERENCE.findall(page.text)
    expect(bool(refs), f"{path} references its CSS and JS", page.text[:500])
    external = [r for r in refs if not r.startswith("/") or r.startswith("//")]
    expect(
        not external and "cdn" not in page.text.lower(),
        f"{path} loads nothing from elsewhere",
        str(external),
    )
    seen = set()
    for ref in refs:
        asset = client.get(ref)
        kind = asset.headers.get("content-type", "").split(";")[0]
        expect(
            asset.status_code == 200 and len(asset.content) > 100,
            f"GET {ref}",
            f"{asset.status_code}, {len(asset.content)} bytes",
        )
        seen.add(kind)
    expect(kinds <= seen, f"{path} assets include {sorted(kinds)}", str(sorted(seen)))
    return f"{len(refs)} assets, all local ({', '.join(refs)})"


def serve(cli: Path, work: Path) -> None:
    port = free_port()
    db = f"sqlite:///{work / 'serve.db'}"
    env = clean_env(COMPLAINT_MONITOR_SECRET=secrets.token_urlsafe(32))
    (work / "config.yaml").write_text(
        f"database:\n  url: {db}\nserver:\n  port: {port}\n  secure_cookies: false\n"
    )
    upgrade(cli, work, db, "the SQLite file of serve")
    added = run(
        cli,
        "staff",
        "add",
        "smoke",
        "--role",
        "lead",
        "--password-stdin",
        cwd=work,
        env=env,
        stdin="smoke test password\n",
    )
    expect(added.returncode == 0, "staff add", added.stderr)
    base = f"http://127.0.0.1:{port}"
    with started([cli, "serve"], work, env, work / "serve.log") as proc:
        wait_for(
            lambda: answers(base + "/healthz"), proc, work / "serve.log", "serve did not start"
        )
        with httpx.Client(base_url=base, timeout=10) as client:
            health = client.get("/healthz")
            expect(
                health.status_code == 200 and health.json()["database"] == "ok",
                "/healthz",
                health.text,
            )
            ok("serve: /healthz", health.text)
            ok(
                "serve: sign-in page",
                local_assets(client, "/login", {"text/css", "text/javascript"}),
            )
            sign_in(client)
            ok("serve: /docs", local_assets(client, "/docs", {"text/css", "text/javascript"}))
            spec = client.get("/openapi.json").json()
            ok("serve: /openapi.json", f"{len(spec['paths'])} paths")
        again = run(cli, "serve", cwd=work, env=env)
        lines = again.stderr.strip().splitlines()
        expect(
            again.returncode != 0 and len(lines) == 1 and "--port" in lines[0],
            "a second serve on the busy port is one line",
            again.stderr,
        )
        ok("serve on a busy port", lines[0])


def sign_in(client: httpx.Client) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    expect(token is not None, "the sign-in form has a CSRF token")
    assert token is not None
    form = {"username": "smoke", "password": "smoke test password", "csrf_token": token.group(1)}
    done = client.post("/login", data=form)
    expect(done.status_code == 303, "sign in", f"{done.status_code} {done.text[:200]}")
    queue = client.get("/")
    expect(queue.status_code == 200 and 'id="queue"' in queue.text, "the queue after sign-in")
    ok("serve: sign in, then the queue page", f"{len(queue.text)} bytes")


def demo(cli: Path, work: Path) -> None:
    log = work / "demo.log"
    with started(
        [cli, "demo", "--port", "0", "--db", work / "demo.db"], work, clean_env(), log
    ) as proc:
        wait_for(
            lambda: "Ctrl-C stops the demo" in log.read_text(errors="replace"),
            proc,
            log,
            "demo did not start",
        )
        url = re.search(r"console:\s+(http://\S+)", log.read_text())
        expect(url is not None, "demo prints the console URL", log.read_text())
        assert url is not None
        try:
            with httpx.Client(base_url=url.group(1), timeout=10) as client:
                assets = local_assets(client, "/login", {"text/css", "text/javascript"})
        except httpx.TransportError as exc:
            tail = log.read_text(errors="replace")[-3000:]
            raise SmokeFailure(f"demo at {url.group(1)} did not answer ({exc}): {tail}") from exc
        ok("demo", f"console at {url.group(1)}; {assets}")


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="cm-wheel-smoke-"))
    work = tmp / "empty"
    work.mkdir()
    print(f"wheel smoke test in {tmp}", flush=True)
    started_at = time.monotonic()
    try:
        cli = install(tmp, build(tmp))
        upgrade(cli, work, f"sqlite:///{work / 'new.db'}", "a new SQLite file")
        with postgres_database() as pg:
            upgrade(cli, work, pg, "a fresh PostgreSQL database")
        never = run(
            cli,
            "staff",
            "list",
            cwd=work,
            env=clean_env(DATABASE_URL=f"sqlite:///{work / 'never.db'}"),
        )
        expect(
            never.returncode != 0
            and "db upgrade" in never.stderr
            and len(never.stderr.strip().splitlines()) == 1,
            "a command on an unmigrated database is one line",
            never.stderr,
        )
        ok("staff list on an unmigrated database", never.stderr.strip())
        serve(cli, work)
        demo(cli, work)
    except SmokeFailure as exc:
        print(f"FAIL {exc}", flush=True)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"wheel smoke test: every check ok in {time.monotonic() - started_at:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
