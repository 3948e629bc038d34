"""Responders and alert senders, built from ``responders`` and ``alerts`` in the config."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from monitor.alerts.delivery import AlertOut, AlertSender
from monitor.config import ConfigError, LoadedConfig
from monitor.storage.secret_box import SecretBox
from responders.base import Responder
from responders.email import SmtpOptions
from responders.slack import SlackResponder
from responders.staff_mail import StaffMailer


class _MailAlerts:
    """Alert sender over SMTP (responders.email settings)."""

    def __init__(self, mailer: StaffMailer) -> None:
        self.mailer = mailer

    def send(self, alert: AlertOut) -> str | None:
        about = f" (case #{alert.case_id})" if alert.case_id is not None else ""
        subject = f"[complaint-monitor] {alert.kind.replace('.', ' ')}{about}"
        domain = self.mailer.options.from_address.rpartition("@")[2]
        return self.mailer.notify(
            alert.target, subject, alert.message, message_id=alert.message_id(domain)
        )


def build_slack(loaded: LoadedConfig) -> SlackResponder | None:
    slack = loaded.settings.responders.slack
    token = loaded.secret(slack.token_env) if slack.enabled else None
    if not token:
        return None
    return SlackResponder.connect(
        token=token,
        base_url=slack.api_base_url,
        channel=slack.default_channel,
        mode=slack.mode,
        timeout=slack.timeout_seconds,
    )


def smtp_options(loaded: LoadedConfig, engine: Engine | None = None) -> SmtpOptions:
    """``responders.email`` as the SMTP client options (replies and staff alerts alike);
    with ``auth: oauth2`` the mailbox grant of sources.email (kept in ``engine``)."""
    smtp = loaded.settings.responders.email
    oauth = None
    if smtp.auth == "oauth2":
        from monitor.wiring import grants

        if engine is None:
            raise ConfigError("responders.email.auth: oauth2 needs the database (the grant)")
        oauth = grants.bearer_for_responders(grants.grant_tokens(loaded, engine, "email"))
    return SmtpOptions(
        host=smtp.host,
        port=smtp.port,
        from_address=smtp.from_address,
        tls=smtp.tls,
        username=smtp.username,
        password=loaded.secret(smtp.password_env),
        timeout=smtp.timeout_seconds,
        html_alternative=smtp.html_alternative,
        ca_file=smtp.ca_file,
        oauth=oauth,
    )


def build_alert_senders(
    loaded: LoadedConfig, engine: Engine | None = None
) -> dict[str, AlertSender]:
    """One sender per configured alert channel that has what it needs."""
    s = loaded.settings
    senders: dict[str, AlertSender] = {}
    if "slack" in s.alerts.channels and (slack := build_slack(loaded)) is not None:
        senders["slack"] = slack
    if "email" in s.alerts.channels and s.responders.email.enabled:
        senders["email"] = _MailAlerts(StaffMailer(smtp_options(loaded, engine)))
    return senders


def secret_box(loaded: LoadedConfig) -> SecretBox:
    """The box sealing webhook signing secrets, keyed by the session secret (the same one
    the web app's box uses, so secrets it seals are opened here)."""
    env_name = loaded.settings.server.session_secret_env
    key = loaded.secret(env_name)
    if not key:
        raise ConfigError(
            f"webhooks.enabled: environment variable {env_name} (server.session_secret_env) "
            "is not set; it is the key that seals webhook signing secrets"
        )
    return SecretBox(key)


def build_responders(loaded: LoadedConfig, engine: Engine | None = None) -> dict[str, Responder]:
    """The reply channel -> responder map, for every enabled responder."""
    from responders.email import SmtpResponder

    s = loaded.settings
    found: dict[str, Responder] = {}
    if s.responders.twitter.enabled:
        found["x"] = found["x_dm"] = _x_responder(loaded, engine)
    if s.responders.email.enabled:
        found["email"] = SmtpResponder(smtp_options(loaded, engine))
    return found


def _x_responder(loaded: LoadedConfig, engine: Engine | None) -> Responder:
    from monitor.wiring import grants
    from responders.twitter import XResponder
    from responders.x_client import OAuth1Keys

    s = loaded.settings
    tw = s.sources.twitter
    options: dict[str, Any] = {
        "api_base_url": tw.api_base_url,
        "timeout": tw.timeout_seconds,
        "lookup_pages": s.responders.twitter.lookup_pages,
    }
    if engine is not None:
        options["record"] = grants.record_writes(grants.response_meter(engine))
    if tw.auth == "oauth2":
        if engine is None:
            raise ConfigError("responders.twitter: OAuth 2.0 needs the database (the grant)")
        bearer = grants.bearer_for_responders(grants.grant_tokens(loaded, engine, "x"))
        return XResponder(user_id=grants.x_user_id(loaded, engine), bearer=bearer.token, **options)
    names = (tw.consumer_key_env, tw.consumer_secret_env, tw.access_token_env,
             tw.access_token_secret_env)  # fmt: skip
    keys = [loaded.secret(n) or "" for n in names]
    if not all(keys) or not tw.user_id:
        raise ConfigError(
            "responders.twitter: replies on X need sources.twitter.user_id and its "
            "OAuth 1.0a keys (consumer_key_env ... access_token_secret_env), "
            "or sources.twitter.auth: oauth2 with the account connected"
        )
    return XResponder(user_id=tw.user_id, oauth1=OAuth1Keys(*keys), **options)
