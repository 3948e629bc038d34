"""What every settings section shares: frozen, unknown keys refused; the one error type;
and the field types more than one section uses."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

from monitor.zones import check_zone

# a time zone name that this machine knows (IANA, e.g. Europe/Berlin)
Timezone = Annotated[str, AfterValidator(check_zone)]


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key and the fix."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
