"""Config loading: typed, frozen, secrets from the environment, one clear error each."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from monitor.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "config.yaml"
    p.write_text(body, encoding="utf-8")
    return p


def test_shipped_config_loads_and_is_frozen() -> None:
    loaded = load_config(REPO / "config.yaml", environ={})
    assert loaded.settings.database.url.startswith("sqlite:///")
    assert loaded.settings.sources.email.folders == ("INBOX",)
    with pytest.raises(ValidationError):
        loaded.settings.database.url = "x"  # type: ignore[misc]


def test_database_url_env_overrides(tmp_path: Path) -> None:
    p = write(tmp_path, "database:\n  url: sqlite:///a.db\n")
    loaded = load_config(p, environ={"DATABASE_URL": "postgresql://u@h/db"})
    assert loaded.settings.database.url == "postgresql://u@h/db"


def test_config_path_from_environment(tmp_path: Path) -> None:
    p = write(tmp_path, "queue:\n  claim_timeout_minutes: 7\n")
    loaded = load_config(None, environ={"COMPLAINT_MONITOR_CONFIG": str(p)})
    assert loaded.settings.queue.claim_timeout_minutes == 7


def test_unknown_key_is_named(tmp_path: Path) -> None:
    p = write(tmp_path, "sources:\n  twitter:\n    bearer_tokn_env: X\n")
    with pytest.raises(ConfigError, match=r"unknown key 'sources\.twitter\.bearer_tokn_env'"):
        load_config(p, environ={})


def test_bad_value_is_named(tmp_path: Path) -> None:
    p = write(tmp_path, "sources:\n  email:\n    port: not-a-port\n")
    with pytest.raises(ConfigError, match=r"sources\.email\.port"):
        load_config(p, environ={})


def test_missing_secret_names_key_and_variable(tmp_path: Path) -> None:
    p = write(tmp_path, "sources:\n  twitter:\n    enabled: true\n    user_id: '1'\n")
    with pytest.raises(ConfigError) as err:
        load_config(p, environ={})
    assert "sources.twitter.bearer_token_env" in str(err.value)
    assert "X_BEARER_TOKEN" in str(err.value)
    loaded = load_config(p, environ={"X_BEARER_TOKEN": "s3cret"})
    assert loaded.secret("X_BEARER_TOKEN") == "s3cret"
    assert "s3cret" not in repr(loaded)


def test_malformed_yaml_points_at_the_line_of_the_mistake(tmp_path: Path) -> None:
    p = write(tmp_path, "sources:\n  twitter: [1,\n  b")
    with pytest.raises(ConfigError, match=r"not valid YAML \(line 3, column 4\)"):
        load_config(p, environ={})


def test_top_level_must_be_mapping(tmp_path: Path) -> None:
    p = write(tmp_path, "- a\n- b\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(p, environ={})


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml", environ={})


def test_trusted_proxies_must_be_addresses_or_networks(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text("server:\n  trusted_proxies: [10.0.0.0/24, proxy.internal]\n")
    with pytest.raises(ConfigError, match=r"trusted_proxies.*proxy\.internal"):
        load_config(p, environ={})
    p.write_text("server:\n  trusted_proxies: [10.0.0.5, '2001:db8::/32']\n")
    assert load_config(p, environ={}).settings.server.trusted_proxies == (
        "10.0.0.5",
        "2001:db8::/32",
    )


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///complaint-monitor.db",
        "sqlite:////var/lib/cm/desk.db",
        "sqlite://",
        "sqlite+pysqlite:///a.db",
        "postgresql://cm@127.0.0.1/desk",
        "postgres://cm:pw@db:5432/desk",
        "postgresql+psycopg://cm@db/desk",
    ],
)
def test_supported_database_urls_load(tmp_path: Path, url: str) -> None:
    loaded = load_config(tmp_path / "none.yaml", require_file=False, environ={"DATABASE_URL": url})
    assert loaded.settings.database.url == url


@pytest.mark.parametrize(
    "url", ["mysql://x", "garbage", "sqlite:/a.db", "postgresql+asyncpg://cm@db/desk"]
)
def test_unsupported_database_urls_name_the_variable(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError, match=r"^DATABASE_URL: .*use sqlite:///PATH or postgresql"):
        load_config(tmp_path / "none.yaml", require_file=False, environ={"DATABASE_URL": url})


def test_without_secrets_the_enabled_sources_secrets_are_not_required(tmp_path: Path) -> None:
    p = write(tmp_path, "sources:\n  email:\n    enabled: true\n    host: h\n")
    with pytest.raises(ConfigError, match="IMAP_PASSWORD"):
        load_config(p, environ={})
    loaded = load_config(p, environ={"IMAP_PASSWORD": "pw"}, with_secrets=False)
    assert loaded.secret("IMAP_PASSWORD") is None  # not read either


def test_band_thresholds_must_rise(tmp_path: Path) -> None:
    p = write(tmp_path, "scoring:\n  band_medium: 60\n  band_high: 40\n")
    with pytest.raises(ConfigError, match=r"scoring\.band_high.*at least band_medium \(60\)"):
        load_config(p, environ={})
    p = write(tmp_path, "scoring:\n  band_high: 80\n")  # above the default critical 75
    with pytest.raises(ConfigError, match=r"scoring\.band_critical"):
        load_config(p, environ={})
    assert load_config(write(tmp_path, "scoring:\n  band_high: 60\n"), environ={})


def test_config_yaml_documents_the_default_sla_targets() -> None:
    from monitor.config import SlaSettings

    loaded = load_config(REPO / "config.yaml", environ={})
    assert loaded.settings.sla == SlaSettings()
    assert loaded.settings.sla.targets["email"].critical.first_minutes == 240
