"""Responders and alert senders, built from ``responders`` and ``alerts`` in the config."""

from __future__ import annotations

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
        subject = f"[complaint-monitor] {alert.kind.replace('.', ' ')} (case #{alert.case_id})"
        return self.mailer.notify(alert.target, subject, alert.message)


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


def smtp_options(loaded: LoadedConfig) -> SmtpOptions:
    """``responders.email`` as the SMTP client options (replies and staff alerts alike)."""
    smtp = loaded.settings.responders.email
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
    )


def build_alert_senders(loaded: LoadedConfig) -> dict[str, AlertSender]:
    """One sender per configured alert channel that has what it needs."""
    s = loaded.settings
    senders: dict[str, AlertSender] = {}
    if "slack" in s.alerts.channels and (slack := build_slack(loaded)) is not None:
        senders["slack"] = slack
    if "email" in s.alerts.channels and s.responders.email.enabled:
        senders["email"] = _MailAlerts(StaffMailer(smtp_options(loaded)))
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


def build_responders(loaded: LoadedConfig) -> dict[str, Responder]:
    """The reply channel -> responder map, for every enabled responder."""
    from responders.email import SmtpResponder
    from responders.twitter import XResponder
    from responders.x_client import OAuth1Keys

    s = loaded.settings
    found: dict[str, Responder] = {}
    tw = s.sources.twitter
    if s.responders.twitter.enabled:
        names = (tw.consumer_key_env, tw.consumer_secret_env, tw.access_token_env,
                 tw.access_token_secret_env)  # fmt: skip
        keys = [loaded.secret(n) or "" for n in names]
        if not all(keys) or not tw.user_id:
            raise ConfigError(
                "responders.twitter: replies on X need sources.twitter.user_id and its "
                "OAuth 1.0a keys (consumer_key_env ... access_token_secret_env)"
            )
        x = XResponder(
            user_id=tw.user_id,
            oauth1=OAuth1Keys(*keys),
            api_base_url=tw.api_base_url,
            timeout=tw.timeout_seconds,
            lookup_pages=s.responders.twitter.lookup_pages,
        )
        found["x"] = found["x_dm"] = x
    if s.responders.email.enabled:
        found["email"] = SmtpResponder(smtp_options(loaded))
    return found
