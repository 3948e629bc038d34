"""``scoring``, ``queue`` and ``replies``: how the desk ranks, holds and checks its work."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from monitor.config.base import Section


class ScoringSettings(Section):
    """Weights of the frustration score (owned by ``monitor.scoring``).

    The score is the sum of the text points (0-75, from the model file) and these
    context points, capped at 100. Every context part only ever adds points.
    """

    model_path: str | None = None
    # "student": the numpy model file (tens of thousands of messages/s per core);
    # "encoder": also run the teacher (sentence encoder + heads) and blend it in (tens of
    # messages/s; needs the [train] extra's encoder packages and <model>.encoder.npz).
    tier: Literal["student", "encoder"] = "student"
    # share of the encoder in the text heads when tier is "encoder"
    encoder_blend: float = Field(default=0.6, ge=0, le=1)
    # band = the highest threshold the score reaches (below `medium` it is "low")
    band_medium: int = Field(default=30, ge=0, le=100)
    band_high: int = Field(default=55, ge=0, le=100, validate_default=True)
    band_critical: int = Field(default=75, ge=0, le=100, validate_default=True)

    @field_validator("band_high", "band_critical")
    @classmethod
    def _bands_rise(cls, value: int, info: ValidationInfo) -> int:
        below = {"band_high": "band_medium", "band_critical": "band_high"}[str(info.field_name)]
        floor = info.data.get(below)
        if floor is not None and value < floor:
            raise ValueError(f"must be at least {below} ({floor}), not {value}")
        return value

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
    # a missed response-time target (sla): a first step, then per hour overdue, capped
    response_overdue_points: float = Field(default=10.0, ge=0)
    response_overdue_points_per_hour: float = Field(default=2.5, ge=0)
    response_overdue_max: int = Field(default=30, ge=0)
    # visibility: a public post, more for a bigger audience (per tenfold above 100)
    public_points: float = Field(default=2.0, ge=0)
    follower_points_per_decade: float = Field(default=2.0, ge=0)
    public_points_max: int = Field(default=12, ge=0)
    # customer value (0 = normal; e.g. 1 = key account)
    customer_value_points: float = Field(default=10.0, ge=0)
    customer_value_max: int = Field(default=20, ge=0)


class QueueSettings(Section):
    claim_timeout_minutes: int = Field(default=15, ge=1)
    hop_window_days: int = Field(default=14, ge=0)
    # Link a new X user to the customer whose email address they state in a post (and an
    # email sender to the X @handle they state); off = only identical identities link.
    link_stated_identities: bool = True
    # Waiting cases are re-scored this often (their score grows with the wait).
    rescore_minutes: int = Field(default=5, ge=1)
    # New cases: "off" (staff take or assign them) or "round_robin" (the active agent
    # with the fewest open assigned cases, the longest idle first).
    auto_assign: Literal["off", "round_robin"] = "off"


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


class ReplySettings(Section):
    """The template-likeness guard and the outbox worker (see monitor/replies/service.py)."""

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
