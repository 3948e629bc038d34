"""Which connections exist and how to reach their providers, from the configuration."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.config import ConfigError, LoadedConfig
from monitor.config.oauth import OAuth2ClientSettings
from monitor.sources.oauth import OAuthSession
from monitor.storage.secret_box import SecretBox

CONNECTIONS = ("email", "x")


@dataclass(frozen=True)
class Connection:
    name: str
    title: str
    settings: OAuth2ClientSettings
    account: str  # what the grant is for (the mailbox); "" when the provider tells us
    in_use: bool  # a source or responder is configured to use it

    @property
    def where(self) -> str:
        return f"sources.{'twitter' if self.name == 'x' else self.name}.oauth2"


def connection(loaded: LoadedConfig, name: str) -> Connection:
    s = loaded.settings
    if name == "email":
        if not s.sources.email.username:
            raise ConfigError("sources.email.username: set the mailbox address to connect")
        in_use = s.sources.email.auth == "oauth2" or s.responders.email.auth == "oauth2"
        return Connection("email", "Mailbox", s.sources.email.oauth2, s.sources.email.username,
                          in_use)  # fmt: skip
    if name == "x":
        return Connection("x", "X account", s.sources.twitter.oauth2, "",
                          s.sources.twitter.auth == "oauth2")  # fmt: skip
    raise ConfigError(f"unknown connection {name!r} (one of: {', '.join(CONNECTIONS)})")


def oauth_session(loaded: LoadedConfig, conn: Connection) -> OAuthSession:
    client = conn.settings.client(conn.where)
    secret_env = conn.settings.client_secret_env
    secret = loaded.secret(secret_env) if secret_env else None
    if secret_env and not secret:
        raise ConfigError(f"{conn.where}.client_secret_env: {secret_env} is not set")
    return OAuthSession(client, secret, timeout=conn.settings.timeout_seconds)


def secret_box(loaded: LoadedConfig) -> SecretBox:
    env = loaded.settings.server.session_secret_env
    key = loaded.secret(env)
    if not key:
        raise ConfigError(f"{env} is not set: the tokens are stored sealed with it")
    return SecretBox(key)
