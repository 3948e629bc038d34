"""Configuration: ``config.yaml`` loaded into a frozen, typed settings tree.

Secrets never live in the file: each is named by an environment variable
(``bearer_token_env: X_BEARER_TOKEN``) and read when the settings are loaded. Every
problem becomes one :class:`ConfigError` whose message names the key, so the CLI can
print a single clear line instead of a traceback. Nothing here imports another project
package or reads anything at import time. One module per section of the file.
"""

from monitor.config.alerts import AlertsSettings, EscalationStep, WebhooksSettings
from monitor.config.base import ConfigError, Section
from monitor.config.desk import DEFAULT_BOILERPLATE, QueueSettings, ReplySettings, ScoringSettings
from monitor.config.incidents import (
    COMPENSATION_KINDS,
    CompensationSettings,
    IncidentsSettings,
)
from monitor.config.loading import (
    CONFIG_ENV,
    DATABASE_URL_ENV,
    DEFAULT_CONFIG,
    LoadedConfig,
    load_config,
    parse_settings,
    required_secrets,
    resolve_path,
)
from monitor.config.reports import (
    CauseSettings,
    DigestSettings,
    ReportsSettings,
    SurveySettings,
)
from monitor.config.responders import (
    RespondersSettings,
    SlackResponderSettings,
    SmtpResponderSettings,
    TwitterResponderSettings,
)
from monitor.config.settings import DatabaseSettings, OpsSettings, ServerSettings, Settings
from monitor.config.sla import ChannelTargets, SlaSettings, Target, Team
from monitor.config.sources import EmailSourceSettings, SourcesSettings, TwitterSourceSettings

__all__ = [
    "COMPENSATION_KINDS",
    "CONFIG_ENV",
    "DATABASE_URL_ENV",
    "DEFAULT_BOILERPLATE",
    "DEFAULT_CONFIG",
    "AlertsSettings",
    "CauseSettings",
    "ChannelTargets",
    "CompensationSettings",
    "ConfigError",
    "DatabaseSettings",
    "DigestSettings",
    "EmailSourceSettings",
    "EscalationStep",
    "IncidentsSettings",
    "LoadedConfig",
    "OpsSettings",
    "QueueSettings",
    "ReplySettings",
    "ReportsSettings",
    "RespondersSettings",
    "ScoringSettings",
    "Section",
    "ServerSettings",
    "Settings",
    "SlaSettings",
    "SlackResponderSettings",
    "SmtpResponderSettings",
    "SourcesSettings",
    "SurveySettings",
    "Target",
    "Team",
    "TwitterResponderSettings",
    "TwitterSourceSettings",
    "WebhooksSettings",
    "load_config",
    "parse_settings",
    "required_secrets",
    "resolve_path",
]
