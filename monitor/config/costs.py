"""``sources.twitter.costs``: X pay-per-use prices and the desk's budgets."""

from __future__ import annotations

from pydantic import Field

from monitor.config.base import Section


class XPrices(Section):
    """US dollars per resource read (each billed once per UTC day) or per request written.

    Defaults: X's pay-per-use price list (docs.x.com/x-api/getting-started/pricing) as
    published when they were taken (``as_of``). X changes prices: check the developer
    console's billing page and set yours here.
    """

    as_of: str = "2026-12-01"
    post_read: float = Field(default=0.005, ge=0)
    user_read: float = Field(default=0.010, ge=0)
    dm_event_read: float = Field(default=0.010, ge=0)
    # "Owned reads": the authenticated account's own data, here its mentions read with
    # the brand's OAuth 2.0 user token (sources.twitter.auth: oauth2).
    owned_read: float = Field(default=0.001, ge=0)
    post_create: float = Field(default=0.015, ge=0)
    post_create_url: float = Field(default=0.200, ge=0)  # a post containing a URL
    dm_create: float = Field(default=0.015, ge=0)


class XBudgets(Section):
    # US dollars per UTC day and per UTC calendar month; 0 = no budget.
    daily_usd: float = Field(default=0.0, ge=0)
    monthly_usd: float = Field(default=0.0, ge=0)
    # Alert the admins once when spending passes this share of a budget.
    approaching_percent: int = Field(default=80, ge=1, le=100)
    # Once a budget is reached, poll X no more often than this (seconds); the queue says so.
    floor_poll_seconds: int = Field(default=900, ge=60)


class XCosts(Section):
    prices: XPrices = XPrices()
    budgets: XBudgets = XBudgets()
