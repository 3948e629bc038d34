"""Load ``config.yaml`` into a frozen, typed settings object.

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
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

CONFIG_ENV = "COMPLAINT_MONITOR_CONFIG"
DATABASE_URL_ENV = "DATABASE_URL"
DEFAULT_CONFIG = "config.yaml"


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key and the fix."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseSettings(_Section):
    url: str = "sqlite:///complaint-monitor.db"
    echo: bool = False


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    # Signs session cookies. Required outside demo/development.
    session_secret_env: str = "COMPLAINT_MONITOR_SECRET"
    secure_cookies: bool = True
    run_scheduler: bool = True


class TwitterSourceSettings(_Section):
    enabled: bool = False
    user_id: str = ""
    bearer_token_env: str = "X_BEARER_TOKEN"
    # OAuth 1.0a user context: needed for DMs and for replying.
    consumer_key_env: str | None = None
    consumer_secret_env: str | None = None
    access_token_env: str | None = None
    access_token_secret_env: str | None = None
    poll_seconds: int = Field(default=60, ge=5)
    poll_dms: bool = False
    api_base_url: str = "https://api.x.com"
    timeout_seconds: float = Field(default=15.0, gt=0)
    max_pages: int = Field(default=10, ge=1)


class EmailSourceSettings(_Section):
    enabled: bool = False
    host: str = ""
    port: int = Field(default=993, ge=1, le=65535)
    tls: Literal["ssl", "starttls", "none"] = "ssl"
    # PEM file of the CA (or self-signed certificate) to trust; default: the system store
    ca_file: str | None = None
    username: str = ""
    password_env: str = "IMAP_PASSWORD"
    folders: tuple[str, ...] = ("INBOX",)
    poll_seconds: int = Field(default=60, ge=5)
    timeout_seconds: float = Field(default=30.0, gt=0)
    # Addresses that belong to us (never treated as customers), e.g. support@example.com
    own_addresses: tuple[str, ...] = ()
    max_body_bytes: int = Field(default=1_000_000, ge=1024)


class SourcesSettings(_Section):
    twitter: TwitterSourceSettings = TwitterSourceSettings()
    email: EmailSourceSettings = EmailSourceSettings()


class SmtpResponderSettings(_Section):
    enabled: bool = False
    host: str = ""
    port: int = Field(default=587, ge=1, le=65535)
    tls: Literal["ssl", "starttls", "none"] = "starttls"
    username: str | None = None
    password_env: str | None = None
    from_address: str = ""
    timeout_seconds: float = Field(default=30.0, gt=0)
    # PEM file of a private CA to trust; default: the system store
    ca_file: str | None = None
    # Add a sanitised HTML alternative to the plain-text reply.
    html_alternative: bool = False


class SlackResponderSettings(_Section):
    enabled: bool = False
    token_env: str = "SLACK_BOT_TOKEN"
    api_base_url: str = "https://slack.com/api/"
    default_channel: str = ""
    mode: Literal["member", "connect"] = "member"
    alert_channel: str = ""
    timeout_seconds: int = Field(default=15, ge=1)
    # How often an invite that was sent but not yet accepted is checked again.
    verify_minutes: int = Field(default=30, ge=1)
    # Give up performing (and leave the promise to its owner) after this many failures.
    max_attempts: int = Field(default=8, ge=1)


class TwitterResponderSettings(_Section):
    # Replies and DMs use the OAuth 1.0a credentials of sources.twitter.
    enabled: bool = False
    max_chars: int = Field(default=280, ge=1)
    # Pages of our own timeline / DM events read when reconciling a reply whose
    # outcome is unknown.
    lookup_pages: int = Field(default=3, ge=1, le=20)


class RespondersSettings(_Section):
    twitter: TwitterResponderSettings = TwitterResponderSettings()
    email: SmtpResponderSettings = SmtpResponderSettings()
    slack: SlackResponderSettings = SlackResponderSettings()


class EscalationStep(_Section):
    after_minutes: int = Field(ge=0)
    notify: Literal["owner", "lead", "channel"]


class AlertsSettings(_Section):
    channels: tuple[Literal["slack", "email", "webhook"], ...] = ()
    remind_before_minutes: int = Field(default=60, ge=0)
    repeat_minutes: int = Field(default=240, ge=1)
    ladder: tuple[EscalationStep, ...] = (
        EscalationStep(after_minutes=0, notify="owner"),
        EscalationStep(after_minutes=60, notify="lead"),
        EscalationStep(after_minutes=240, notify="channel"),
    )
    # The promise clock and the alert worker run this often (seconds).
    check_seconds: int = Field(default=60, ge=1)
    # Delivery of one alert: attempts before it is marked failed, first retry delay
    # (doubling each time, capped at retry_max_seconds).
    max_attempts: int = Field(default=6, ge=1)
    retry_seconds: int = Field(default=30, ge=1)
    retry_max_seconds: int = Field(default=3600, ge=1)
    # Alerts sent in parallel per process (each sender call is one HTTP/SMTP request).
    send_workers: int = Field(default=8, ge=1, le=64)
    # After a promise is fulfilled, staff check with the customer within this time.
    follow_up_hours: int = Field(default=24, ge=0)
    # "today" in a promise means the end of the owner's working day (local hour).
    workday_end_hour: int = Field(default=17, ge=1, le=24)
    # Email alerts to staff go through responders.email (SMTP).


class WebhooksSettings(_Section):
    """Outbound webhooks (Standard Webhooks signatures); subscriptions live in the database."""

    enabled: bool = True
    poll_seconds: int = Field(default=5, ge=1)
    timeout_seconds: float = Field(default=10.0, gt=0)
    # Retry schedule after a failed attempt, in seconds; the delivery fails after the last.
    retry_seconds: tuple[int, ...] = (5, 300, 1800, 7200, 18000, 36000)
    # Refuse http:// endpoints (allow them for local tests only).
    require_https: bool = True


class ScoringSettings(_Section):
    """Weights of the frustration score (owned by ``monitor.scoring``).

    The score is the sum of the text points (0-75, from the model file) and these
    context points, capped at 100. Every context part only ever adds points.
    """

    model_path: str | None = None
    # band = the highest threshold the score reaches (below `medium` it is "low")
    band_medium: int = Field(default=30, ge=0, le=100)
    band_high: int = Field(default=55, ge=0, le=100)
    band_critical: int = Field(default=75, ge=0, le=100)
    # waiting since the customer's first unanswered message
    wait_points_per_hour: float = Field(default=0.5, ge=0)
    wait_points_max: int = Field(default=15, ge=0)
    # contacts without a staff reply in the window, beyond the current one
    unanswered_contact_points: float = Field(default=5.0, ge=0)
    unanswered_contacts_max: int = Field(default=20, ge=0)
    # unanswered on one channel, then came back on another (e.g. email, then public X)
    channel_hop_points: int = Field(default=8, ge=0)
    hop_to_public_extra_points: int = Field(default=4, ge=0)
    # an open promise to this customer past its deadline
    overdue_promise_points: float = Field(default=12.0, ge=0)
    overdue_promise_points_per_day: float = Field(default=4.0, ge=0)
    overdue_promise_max: int = Field(default=35, ge=0)
    # visibility: a public post, more for a bigger audience (per tenfold above 100)
    public_points: float = Field(default=2.0, ge=0)
    follower_points_per_decade: float = Field(default=2.0, ge=0)
    public_points_max: int = Field(default=12, ge=0)
    # customer value (0 = normal; e.g. 1 = key account)
    customer_value_points: float = Field(default=10.0, ge=0)
    customer_value_max: int = Field(default=20, ge=0)


class QueueSettings(_Section):
    claim_timeout_minutes: int = Field(default=15, ge=1)
    hop_window_days: int = Field(default=14, ge=0)
    # Link a new X user to the customer whose email address they state in a post (and an
    # email sender to the X @handle they state); off = only identical identities link.
    link_stated_identities: bool = True
    # Waiting cases are re-scored this often (their score grows with the wait).
    rescore_minutes: int = Field(default=5, ge=1)


DEFAULT_BOILERPLATE = (
    "we apologise for any inconvenience",
    "sorry for any inconvenience",
    "sorry for the inconvenience",
    "your satisfaction is our priority",
    "we value your feedback",
    "thank you for your patience",
    "thank you for bringing this to our attention",
    "we understand your frustration",
    "your call is important to us",
    "we are looking into it",
    "please bear with us",
    "we strive to provide the best",
    "we take your concerns seriously",
    "please do not hesitate to contact us",
    "for further assistance",
    "sorry to hear that",
    "we regret any inconvenience",
)


class ReplySettings(_Section):
    """The template-likeness guard and the outbox worker (see monitor/replies.py)."""

    # Template-likeness 0-100 at or above which sending is blocked (a lead may override
    # with a written reason).
    block_threshold: int = Field(default=50, ge=1, le=100)
    boilerplate_phrases: tuple[str, ...] = DEFAULT_BOILERPLATE
    boilerplate_points: int = Field(default=25, ge=0)
    boilerplate_max: int = Field(default=60, ge=0)
    # Similarity (estimated Jaccard of word shingles, 0-1) that makes a reply or one of
    # its sentences a near-duplicate of a previous one.
    duplicate_reply_similarity: float = Field(default=0.7, gt=0, le=1)
    duplicate_reply_points: int = Field(default=60, ge=0)
    duplicate_sentence_similarity: float = Field(default=0.8, gt=0, le=1)
    duplicate_sentence_points: int = Field(default=12, ge=0)
    duplicate_sentence_max: int = Field(default=40, ge=0)
    # Missing specifics: nothing the customer said, no name or handle, no next step.
    no_reference_points: int = Field(default=20, ge=0)
    no_name_points: int = Field(default=10, ge=0)
    no_next_step_points: int = Field(default=15, ge=0)
    # How many previous replies the guard compares against (built once per process).
    index_size: int = Field(default=100_000, ge=100)
    # Outbox worker: how often it runs, how many replies per run, retries with
    # exponential back-off (retry_seconds, doubling, capped), then "failed".
    deliver_seconds: int = Field(default=5, ge=1)
    batch_size: int = Field(default=20, ge=1)
    max_attempts: int = Field(default=8, ge=1)
    retry_seconds: int = Field(default=30, ge=1)
    retry_max_seconds: int = Field(default=3600, ge=1)
    # A worker holds a reply in "sending" this long; past it the outcome is unknown and
    # reconciliation looks for it before anything is sent again.
    send_lease_seconds: int = Field(default=120, ge=10)
    # An email whose outcome is unknown (SMTP cannot be asked): "resend" = at least
    # once, with the same Message-ID so mail clients fold a duplicate; "fail" = at most
    # once, marked failed for staff to check and resend by hand.
    email_unknown_outcome: Literal["resend", "fail"] = "resend"


class Settings(_Section):
    database: DatabaseSettings = DatabaseSettings()
    server: ServerSettings = ServerSettings()
    sources: SourcesSettings = SourcesSettings()
    responders: RespondersSettings = RespondersSettings()
    alerts: AlertsSettings = AlertsSettings()
    webhooks: WebhooksSettings = WebhooksSettings()
    scoring: ScoringSettings = ScoringSettings()
    queue: QueueSettings = QueueSettings()
    replies: ReplySettings = ReplySettings()


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
    if tw.enabled:
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
    if em.enabled:
        needed["sources.email.password_env"] = em.password_env
    smtp = settings.responders.email
    if smtp.enabled and smtp.password_env:
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
) -> LoadedConfig:
    """Read, validate and resolve the configuration. Raises :class:`ConfigError`."""
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
    if env.get(DATABASE_URL_ENV):
        settings = settings.model_copy(
            update={"database": settings.database.model_copy(update={"url": env[DATABASE_URL_ENV]})}
        )
    secrets: dict[str, SecretStr] = {}
    for key, env_name in required_secrets(settings).items():
        value = env.get(env_name)
        if not value:
            raise ConfigError(
                f"{key}: environment variable {env_name} is not set (it holds a secret)"
            )
        secrets[env_name] = SecretStr(value)
    session_env = settings.server.session_secret_env
    if env.get(session_env):
        secrets[session_env] = SecretStr(env[session_env])
    return LoadedConfig(
        settings=settings, secrets=secrets, path=cfg_path if cfg_path.exists() else None
    )
