"""Load ``config.yaml`` into the frozen settings tree, with the secrets it names.

Secrets never live in the file: each is named by an environment variable
(``bearer_token_env: X_BEARER_TOKEN``) and read when the settings are loaded.
Every problem becomes one :class:`ConfigError` whose message names the key, so the
CLI can print a single clear line instead of a traceback. This module imports no
other project module and reads nothing at import time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import SecretStr, ValidationError

from monitor.config.base import ConfigError
from monitor.config.database_url import url_problem
from monitor.config.settings import Settings

CONFIG_ENV = "COMPLAINT_MONITOR_CONFIG"
DATABASE_URL_ENV = "DATABASE_URL"
DEFAULT_CONFIG = "config.yaml"


@dataclass(frozen=True)
class LoadedConfig:
    """Settings plus the secrets they name, read from the environment once."""

    settings: Settings
    secrets: Mapping[str, SecretStr]
    path: Path | None

    def secret(self, env_name: str | None) -> str | None:
        if not env_name:
            return None
        value = self.secrets.get(env_name)
        return value.get_secret_value() if value is not None else None


def resolve_path(cli_path: str | os.PathLike[str] | None, environ: Mapping[str, str]) -> Path:
    if cli_path:
        return Path(cli_path)
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV])
    return Path(DEFAULT_CONFIG)


def _format_validation(error: ValidationError, origin: str) -> str:
    first = error.errors()[0]
    key = ".".join(str(p) for p in first["loc"]) or "(top level)"
    if first["type"] == "extra_forbidden":
        return f"{origin}: unknown key '{key}' (check the spelling against config.yaml)"
    return f"{origin}: {key}: {first['msg']}"


def parse_settings(data: Any, origin: str = "config") -> Settings:
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{origin}: the top level must be a mapping of sections")
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation(exc, origin)) from None


def required_secrets(settings: Settings) -> dict[str, str]:
    """Key path -> environment variable name, for every secret an enabled part needs."""
    needed: dict[str, str] = {}
    tw = settings.sources.twitter
    if tw.enabled and tw.auth == "oauth2":
        if tw.oauth2.client_secret_env:
            needed["sources.twitter.oauth2.client_secret_env"] = tw.oauth2.client_secret_env
    elif tw.enabled:
        needed["sources.twitter.bearer_token_env"] = tw.bearer_token_env
        if tw.poll_dms or settings.responders.twitter.enabled:
            for key in (
                "consumer_key_env",
                "consumer_secret_env",
                "access_token_env",
                "access_token_secret_env",
            ):
                env_name = getattr(tw, key)
                if not env_name:
                    raise ConfigError(
                        f"sources.twitter.{key}: required for DMs and replies "
                        "(name the environment variable that holds it)"
                    )
                needed[f"sources.twitter.{key}"] = env_name
    em = settings.sources.email
    if em.enabled and em.auth == "oauth2":
        if em.oauth2.client_secret_env:
            needed["sources.email.oauth2.client_secret_env"] = em.oauth2.client_secret_env
    elif em.enabled:
        needed["sources.email.password_env"] = em.password_env
    smtp = settings.responders.email
    if smtp.enabled and smtp.auth == "oauth2" and em.oauth2.client_secret_env:
        needed["sources.email.oauth2.client_secret_env"] = em.oauth2.client_secret_env
    elif smtp.enabled and smtp.password_env:
        needed["responders.email.password_env"] = smtp.password_env
    slack = settings.responders.slack
    if slack.enabled:
        needed["responders.slack.token_env"] = slack.token_env
    return needed


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    require_file: bool = True,
    with_secrets: bool = True,
) -> LoadedConfig:
    """Read, validate and resolve the configuration. Raises :class:`ConfigError`.

    ``with_secrets=False`` is for commands that only touch the database (``db upgrade``,
    ``staff``, ``token``, ``export``, ``import``): the secrets of sources and responders
    are then neither required nor read.
    """
    env = os.environ if environ is None else environ
    cfg_path = resolve_path(path, env)
    data: Any = {}
    if cfg_path.exists():
        try:
            data = yaml.safe_load(cfg_path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            raise ConfigError(f"{cfg_path}: not valid YAML{where}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{cfg_path}: cannot be read: {exc}") from None
    elif require_file:
        raise ConfigError(
            f"{cfg_path}: config file not found (pass --config PATH or set {CONFIG_ENV})"
        )
    settings = parse_settings(data, str(cfg_path))
    url_origin = f"{cfg_path}: database.url"
    if env.get(DATABASE_URL_ENV):
        url_origin = DATABASE_URL_ENV
        settings = settings.model_copy(
            update={"database": settings.database.model_copy(update={"url": env[DATABASE_URL_ENV]})}
        )
    problem = url_problem(settings.database.url)
    if problem is not None:
        raise ConfigError(f"{url_origin}: {problem}")
    secrets: dict[str, SecretStr] = {}
    for key, env_name in (required_secrets(settings) if with_secrets else {}).items():
        value = env.get(env_name)
        if not value:
            raise ConfigError(
                f"{key}: environment variable {env_name} is not set (it holds a secret)"
            )
        secrets[env_name] = SecretStr(value)
    optional = [
        settings.server.session_secret_env,  # the console works without it in development
        settings.sources.email.oauth2.client_secret_env,  # `connect` before enabling
        settings.sources.twitter.oauth2.client_secret_env,
        settings.server.ops.token_env,  # opens /metrics and /openapi.json from anywhere
    ]
    for name in optional:
        if name and env.get(name):
            secrets[name] = SecretStr(env[name])
    return LoadedConfig(
        settings=settings, secrets=secrets, path=cfg_path if cfg_path.exists() else None
    )
