"""OAuth 2.0 client settings of a connected account (``sources.*.oauth2``).

``provider`` picks endpoint and scope presets; every field set in the file overrides
the preset, so any standards-compliant provider works with ``provider: custom``.

Flows
    ``device``  RFC 8628 device authorization grant: the desk shows a code, an admin
        enters it at the provider's verification page (Microsoft 365).
    ``authorization_code``  RFC 6749 authorization code with PKCE (RFC 7636): the admin
        signs in at the provider and is sent back to ``redirect_uri`` (Google, X).
        Google's device flow only grants a short list of scopes, and the mail scope
        is not on it, so Google uses this flow with a "Desktop app" client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from monitor.config.base import ConfigError, Section

Flow = Literal["device", "authorization_code"]


@dataclass(frozen=True)
class ProviderPreset:
    flow: Flow
    device_authorization_url: str
    authorization_url: str
    token_url: str
    scopes: tuple[str, ...]


MICROSOFT_LOGIN = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0"
PRESETS: dict[str, ProviderPreset] = {
    "google": ProviderPreset(
        flow="authorization_code",
        device_authorization_url="https://oauth2.googleapis.com/device/code",
        authorization_url="https://accounts.google.com/o/oauth2/v2/auth",
        token_url="https://oauth2.googleapis.com/token",
        scopes=("https://mail.google.com/",),
    ),
    "microsoft": ProviderPreset(
        flow="device",
        device_authorization_url=MICROSOFT_LOGIN + "/devicecode",
        authorization_url=MICROSOFT_LOGIN + "/authorize",
        token_url=MICROSOFT_LOGIN + "/token",
        scopes=(
            "https://outlook.office.com/IMAP.AccessAsUser.All",
            "https://outlook.office.com/SMTP.Send",
            "offline_access",
        ),
    ),
    "x": ProviderPreset(
        flow="authorization_code",
        device_authorization_url="",
        authorization_url="https://x.com/i/oauth2/authorize",
        token_url="https://api.x.com/2/oauth2/token",
        scopes=(
            "tweet.read",
            "tweet.write",
            "users.read",
            "dm.read",
            "dm.write",
            "offline.access",
        ),
    ),
    "custom": ProviderPreset("device", "", "", "", ()),
}


@dataclass(frozen=True)
class OAuthClient:
    """Everything a flow needs, presets applied (the secret stays an env var name)."""

    provider: str
    flow: Flow
    client_id: str
    client_secret_env: str | None
    device_authorization_url: str
    authorization_url: str
    token_url: str
    scopes: tuple[str, ...]
    redirect_uri: str


class OAuth2ClientSettings(Section):
    # google | microsoft | x | custom (custom: set the URLs and scopes below)
    provider: Literal["google", "microsoft", "x", "custom"] = "custom"
    # The application (client) id from the provider's app registration.
    client_id: str = ""
    # Environment variable holding the client secret, for providers that issue one to
    # installed apps (Google "Desktop app", X confidential clients); empty for public clients.
    client_secret_env: str | None = None
    # Microsoft: the directory (tenant) id or domain; "organizations" = any work account.
    tenant: str = "organizations"
    # Empty = the provider's preset.
    flow: Flow | None = None
    device_authorization_url: str = ""
    authorization_url: str = ""
    token_url: str = ""
    scopes: tuple[str, ...] = ()
    # authorization_code flow: where the provider sends the admin back. `connect` listens
    # on a loopback URL (http://127.0.0.1:<port>/callback); the console uses
    # <public url>/admin/connections/<name>/callback. Register the one you use.
    redirect_uri: str = "http://127.0.0.1:8765/callback"
    # The console's code flow returns to <this desk>/admin/connections/<name>/callback;
    # set the full URL here when the desk is reached through a proxy under another name.
    console_redirect_uri: str = ""
    # Refresh the access token this long before it expires.
    refresh_margin_seconds: int = Field(default=300, ge=0)
    timeout_seconds: float = Field(default=15.0, gt=0)

    def client(self, where: str) -> OAuthClient:
        """The resolved client; ConfigError names ``where`` if something is missing."""
        preset = PRESETS[self.provider]

        def pick(value: str, default: str) -> str:
            return (value or default).replace("{tenant}", self.tenant)

        resolved = OAuthClient(
            provider=self.provider,
            flow=self.flow or preset.flow,
            client_id=self.client_id,
            client_secret_env=self.client_secret_env,
            device_authorization_url=pick(
                self.device_authorization_url, preset.device_authorization_url
            ),
            authorization_url=pick(self.authorization_url, preset.authorization_url),
            token_url=pick(self.token_url, preset.token_url),
            scopes=self.scopes or preset.scopes,
            redirect_uri=self.redirect_uri,
        )
        if not resolved.client_id:
            raise ConfigError(f"{where}.client_id: set the app's client id")
        if not resolved.token_url:
            raise ConfigError(f"{where}.token_url: required for provider {self.provider!r}")
        if resolved.flow == "device" and not resolved.device_authorization_url:
            raise ConfigError(f"{where}.device_authorization_url: required for the device flow")
        if resolved.flow == "authorization_code" and not resolved.authorization_url:
            raise ConfigError(f"{where}.authorization_url: required for the code flow")
        return resolved
