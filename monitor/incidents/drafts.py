"""The personal update the composer drafts when an incident's status changes.

When an incident moves on, each attached customer who has not heard from us gets a task
(:mod:`monitor.incidents.service`); the composer then starts from a draft for that one
customer: their name, what they told us (error, device, app version...), the incident's
new state and its shared paragraph. It is only a draft: a person reads it, changes it
and sends it; nothing here sends anything. Pure text over the given rows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from monitor.customers.facts import Fact, FactKind
from monitor.incidents.queries import shared_paragraph
from monitor.models import Incident, IncidentState

# How each state reads to a customer, after "It is ...".
STATE_WORDS = {
    IncidentState.INVESTIGATING: "still being investigated: we have not found the cause yet",
    IncidentState.IDENTIFIED: "identified: we know the cause and are fixing it",
    IncidentState.MONITORING: "fixed on our side, and we are watching that it stays fixed",
    IncidentState.RESOLVED: "resolved",
}
# The facts worth repeating back, in this order, and how each reads in a sentence.
FACT_WORDS: tuple[tuple[FactKind, str], ...] = (
    (FactKind.ERROR_CODE, "error {}"),
    (FactKind.DEVICE, "on your {}"),
    (FactKind.APP_VERSION, "with app version {}"),
    (FactKind.OS_VERSION, "on {}"),
    (FactKind.ORDER, "for {}"),
)
_NAME_RE = re.compile(r"^[^\W\d_][\w'’-]*$")


def first_name(display_name: str) -> str | None:
    """The name to greet with ("Ana" from "Ana Novak"); None for handles and addresses."""
    words = display_name.strip().split()
    if not words or "@" in display_name or not _NAME_RE.match(words[0]):
        return None
    return words[0]


def what_they_told_us(facts: Sequence[Fact]) -> str:
    """ "error E503 on your Pixel 8": the first fact of each useful kind, in one phrase."""
    parts = []
    for kind, words in FACT_WORDS:
        found = next((f for f in facts if f.kind == kind), None)
        if found is not None:
            parts.append(words.format(found.value))
    return " ".join(parts)


def update_draft(
    incident: Incident, *, customer_name: str, facts: Sequence[Fact], check_in: bool = False
) -> str:
    """The draft of a personal update (or, once resolved, a check-in) for one customer."""
    name = first_name(customer_name)
    told = what_they_told_us(facts)
    about = f" ({told})" if told else ""
    lines = [f"Hi {name}," if name else "Hello,"]
    if check_in:
        lines.append(
            f"the {incident.title} problem you told us about{about} is resolved now."
            " Could you check that it works for you again, and tell me if it does not?"
        )
    else:
        state = STATE_WORDS.get(IncidentState(incident.state), incident.state)
        lines.append(
            f"an update on the {incident.title} problem you told us about{about}: it is {state}."
        )
    paragraph = shared_paragraph(incident)
    if paragraph:
        lines.append(paragraph)
    if not check_in:
        lines.append("I will write to you again as soon as it changes for you.")
    return "\n".join(lines)
