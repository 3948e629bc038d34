"""X (Twitter) sources: the brand's mentions and its direct messages, via ``tweepy.Client``.

transport  authentication (app-only, OAuth 1.0a, OAuth 2.0 user grant), errors, 429s
costs      what each response is billed for (the meter lives in ``monitor.usage``)
parsing    response bodies -> mentions, quarantine (also used by ``import``)
source     what both sources share; first-poll rule
mentions   ``GET /2/users/:id/mentions``
dms        ``GET /2/dm_events``
account    ``GET /2/users/me`` (who a fresh grant belongs to)
"""

from monitor.sources.first_poll import FirstPollRule
from monitor.sources.twitter.dms import XDirectMessagesSource
from monitor.sources.twitter.mentions import XMentionsSource
from monitor.sources.twitter.parsing import mentions_from_page
from responders.x_client import (  # re-exported: the sources' public transport names
    DEFAULT_API_BASE_URL,
    TWEEPY_HOSTS,
    BaseUrlAdapter,
    OAuth1Keys,
    make_client,
)

__all__ = [
    "DEFAULT_API_BASE_URL",
    "TWEEPY_HOSTS",
    "BaseUrlAdapter",
    "FirstPollRule",
    "OAuth1Keys",
    "XDirectMessagesSource",
    "XMentionsSource",
    "make_client",
    "mentions_from_page",
]
