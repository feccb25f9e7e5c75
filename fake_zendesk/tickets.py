"""Generate realistic ticket objects in the shape of Zendesk's ticket export.

Each ticket is built from a `TicketPlan` (times, status, type, links to other
tickets) and a `random.Random` that fills in the rest. The same plan and generator
state always give the same ticket.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from fake_zendesk.common import (
    DAY,
    SATISFACTION_RATING_ID_BASE,
    SATISFACTION_REASON_ID_BASE,
    SHARING_AGREEMENT_ID_BASE,
    TICKET_ID_BASE,
    chance,
    iso_date,
    iso_time,
)

if TYPE_CHECKING:
    import random
    from collections.abc import Sequence

    from fake_zendesk.catalog import Catalog, CustomField

T = TypeVar("T")

STATUS_WEIGHTS = {
    "new": 8, "open": 20, "pending": 12, "hold": 4, "solved": 26, "closed": 30,
}  # fmt: skip
TYPE_WEIGHTS = {None: 30, "question": 30, "incident": 25, "problem": 7, "task": 8}
PRIORITY_WEIGHTS = {None: 30, "low": 15, "normal": 35, "high": 15, "urgent": 5}
CHANNEL_WEIGHTS = {
    "web": 25, "email": 30, "api": 8, "chat": 7, "voice": 6, "mobile": 3,
    "mobile_sdk": 2, "native_messaging": 5, "any_channel": 2, "side_conversation": 1,
    "integer": 2,
}  # fmt: skip
# Older API clients and integrations report the channel as a number.
INTEGER_CHANNELS = (0, 4, 29, 45)
AI_AGENT_SHARE = 0.03
TAGS = (
    "refund", "shipping_delay", "login_issue", "feature_request", "bug", "billing",
    "vip", "follow_up", "angry_customer", "password_reset", "mobile_app", "api",
)  # fmt: skip
TEXT_VALUES = ("SN-48213", "Größe L", "ref: 745", "partner/42", "客户编号 42")
SATISFACTION_REASONS = (
    "No reason provided", "The issue took too long to resolve",
    "The issue was not resolved", "The agent's knowledge is unsatisfactory",
    "The agent's attitude is unsatisfactory",
)  # fmt: skip
PRODUCTS = (
    "order", "invoice", "subscription", "account", "password", "delivery", "refund",
    "mobile app", "API key", "webhook", "export", "dashboard",
)  # fmt: skip
PROBLEMS = (
    "is missing", "was charged twice", "cannot be changed", "shows an error",
    "arrived damaged", "stopped working", "is stuck in processing", "looks wrong",
)  # fmt: skip
SUBJECT_TEMPLATES = (
    "My {product} {problem}",
    "Re: {product} {problem}",
    "URGENT: {product} {problem}!!",
    'Question about "{product}"',
    "{product} {problem} 😞",
    "Fwd: {product} {problem} (ref #{number})",
    "Ärger mit {product}: {problem}",
    "【重要】{product} {problem}",
)
SENTENCES = (
    "Hello, I need help with my {product}.",
    "Since yesterday my {product} {problem}.",
    "I tried restarting and clearing the cache, but nothing changed.",
    'The error message says "Something went wrong (code {number})".',
    "Could you please look into this as soon as possible?",
    "We have {number} customers waiting on this — it's blocking our launch 🚀.",
    "Attached is a screenshot of what I see.",
    "Order reference: ABC-{number}.",
    "Merci d'avance pour votre aide !",
    "Es ist bereits das dritte Mal diesen Monat.",
    "Thanks,\nthe operations team",
    'P.S. your status page said everything was "operational".',
    "Steps:\n1. Open the {product}\n2. Click save\n3. Nothing happens",
)


@dataclass(slots=True)
class TicketPlan:
    """The parts of a ticket decided before it is built, including its links."""

    id: int
    created_at: int
    updated_at: int
    generated_timestamp: int
    status: str
    type: str | None
    subject: str
    channel: str
    problem_id: int | None = None
    has_incidents: bool = False
    followup_ids: list[int] = field(default_factory=list)
    followup_source: tuple[int, str] | None = None


def ticket_id_for(number: int) -> int:
    """Return the id of the `number`-th ticket of an account, counting from 1."""
    return TICKET_ID_BASE + number


def pick(rng: random.Random, weights: dict) -> object:
    """Choose one key of `weights`, with probability proportional to its value."""
    draw = rng.random() * sum(weights.values())
    for key, weight in weights.items():
        draw -= weight
        if draw < 0:
            return key
    return key


def choose(rng: random.Random, items: Sequence[T]) -> T:
    """Choose one item uniformly; a faster `random.choice` for large batches."""
    return items[int(rng.random() * len(items))]


def draft_plan(
    rng: random.Random, number: int, times: tuple[int, int, int]
) -> TicketPlan:
    """Decide status, type, subject and channel of the `number`-th ticket.

    Args:
        rng: Source of randomness.
        number: Position of the ticket in creation order, counting from 1.
        times: `created_at`, `updated_at` and `generated_timestamp` in epoch seconds.
    """
    created_at, updated_at, generated_timestamp = times
    channel = str(pick(rng, CHANNEL_WEIGHTS))
    if rng.random() < AI_AGENT_SHARE:
        channel = "ai_agent"
    return TicketPlan(
        id=ticket_id_for(number),
        created_at=created_at,
        updated_at=updated_at,
        generated_timestamp=generated_timestamp,
        status=str(pick(rng, STATUS_WEIGHTS)),
        type=pick(rng, TYPE_WEIGHTS),  # type: ignore[arg-type]
        subject=compose_subject(rng),
        channel=channel,
    )


def compose_subject(rng: random.Random) -> str:
    """Return a ticket subject, sometimes with quotes, emoji or non-Latin script."""
    template = choose(rng, SUBJECT_TEMPLATES)
    return template.format(
        product=choose(rng, PRODUCTS),
        problem=choose(rng, PROBLEMS),
        number=rng.randint(1000, 99999),
    )


def compose_description(rng: random.Random) -> str:
    """Return a description of 1 to about 20 sentences, most of them short."""
    sentence_count = min(int(rng.expovariate(1 / 3.6)) + 1, 24)
    sentences = [
        choose(rng, SENTENCES).format(
            product=choose(rng, PRODUCTS),
            problem=choose(rng, PROBLEMS),
            number=rng.randint(1000, 9999),
        )
        for _ in range(sentence_count)
    ]
    return " ".join(sentences)


class TicketBuilder:
    """Build ticket dictionaries that refer to the objects of one catalog."""

    def __init__(self, catalog: Catalog) -> None:
        """Create a builder for tickets of the account described by `catalog`."""
        self.catalog = catalog
        self.brand_ids = list(catalog.brands)
        self.group_ids = list(catalog.groups)

    def build(self, rng: random.Random, plan: TicketPlan) -> dict:
        """Return the ticket described by `plan`, with the remaining fields drawn."""
        catalog = self.catalog
        requester_id = choose(rng, catalog.customer_ids)
        requester = catalog.users[requester_id]
        brand_id = choose(rng, self.brand_ids)
        unassigned = plan.status == "new"
        custom_fields = self.custom_field_values(rng, deleted=plan.status == "deleted")
        ticket = {
            "url": f"{catalog.base_url}/api/v2/tickets/{plan.id}.json",
            "id": plan.id,
            "external_id": None if chance(rng, 0.8) else f"CRM-{plan.id % 10**7}",
            "via": self.via(rng, plan, requester, brand_id),
            "created_at": iso_time(plan.created_at),
            "updated_at": iso_time(plan.updated_at),
            "generated_timestamp": plan.generated_timestamp,
            "type": plan.type,
            "subject": plan.subject,
            "raw_subject": plan.subject,
            "description": compose_description(rng),
            "priority": pick(rng, PRIORITY_WEIGHTS),
            "status": plan.status,
            "recipient": None,
            "requester_id": requester_id,
            "submitter_id": requester_id,
            "assignee_id": None if unassigned else choose(rng, catalog.agent_ids),
            "organization_id": requester["organization_id"],
            "group_id": None if unassigned else choose(rng, self.group_ids),
            **self.people(rng),
            "forum_topic_id": None,
            "problem_id": plan.problem_id,
            "has_incidents": plan.has_incidents,
            "is_public": chance(rng, 0.95),
            "due_at": self.due_at(rng, plan),
            "tags": rng.sample(TAGS, choose(rng, (0, 1, 1, 2, 2, 3, 4))),
            "custom_fields": custom_fields,
            "satisfaction_rating": self.satisfaction_rating(rng, plan),
            "sharing_agreement_ids": self.sharing_agreement_ids(rng),
            "custom_status_id": self.custom_status_id(plan.status),
            "fields": custom_fields,
            "followup_ids": plan.followup_ids,
            "ticket_form_id": choose(rng, catalog.ticket_form_ids),
            "brand_id": brand_id,
            "allow_channelback": plan.channel == "any_channel",
            "allow_attachments": True,
            "from_messaging_channel": plan.channel == "native_messaging",
        }
        self.adjust_for_channel(rng, ticket, plan, brand_id)
        return ticket

    def people(self, rng: random.Random) -> dict[str, list[int]]:
        """Return collaborator, follower and CC ids, empty for most tickets."""
        catalog = self.catalog
        collaborators = []
        if chance(rng, 0.15):
            collaborators = rng.sample(catalog.customer_ids, rng.randint(1, 2))
        followers = []
        if chance(rng, 0.1):
            followers = rng.sample(catalog.agent_ids, 1)
        return {
            "collaborator_ids": collaborators + followers,
            "follower_ids": followers,
            "email_cc_ids": collaborators,
        }

    def via(
        self, rng: random.Random, plan: TicketPlan, requester: dict, brand_id: int
    ) -> dict:
        """Return the `via` object; the shape of `source` depends on the channel."""
        brand_name = self.catalog.brands[brand_id]["name"]
        source: dict = {"from": {}, "to": {}, "rel": None}
        channel: str | int = plan.channel
        if plan.followup_source is not None:
            source_id, source_subject = plan.followup_source
            channel = "closed_ticket"
            source["from"] = {"ticket_id": source_id, "subject": source_subject}
            source["rel"] = "follow_up"
        elif channel == "email":
            source["from"] = {"address": requester["email"], "name": requester["name"]}
            source["to"] = {"address": "support@acme.example", "name": brand_name}
        elif channel == "voice":
            phone = f"+1555{rng.randint(0, 9_999_999):07d}"
            formatted = f"+1 (555) {phone[5:8]}-{phone[8:]}"
            source["from"] = {
                "formatted_phone": formatted,
                "phone": phone,
                "name": requester["name"],
            }
            source["to"] = {
                "formatted_phone": "+1 (555) 010-0000",
                "phone": "+15550100000",
                "name": brand_name,
            }
            source["rel"] = choose(rng, ("inbound", "voicemail"))
        elif channel == "integer":
            channel = choose(rng, INTEGER_CHANNELS)
        elif channel == "ai_agent":
            source["from"] = {"name": "AI agent", "ai_agent_id": plan.id % 97 + 1}
            source["rel"] = "ai_agent"
        elif channel in {"chat", "native_messaging"}:
            source["from"] = {"name": requester["name"]}
        return {"channel": channel, "source": source}

    def custom_field_values(
        self, rng: random.Random, *, deleted: bool = False
    ) -> list[dict]:
        """Return `[{"id", "value"}]` for every active custom field.

        A deleted ticket has every value null, as Zendesk exports it.
        """
        return [
            {"id": custom.id, "value": None if deleted else field_value(rng, custom)}
            for custom in self.catalog.custom_fields
        ]

    def satisfaction_rating(self, rng: random.Random, plan: TicketPlan) -> dict | None:
        """Return null, `{"score": "unoffered"}`, or a full rating object."""
        if plan.status == "deleted":
            return None
        if plan.status not in {"solved", "closed"}:
            return None if chance(rng, 0.6) else {"score": "unoffered"}
        score = pick(rng, {None: 35, "unoffered": 25, "good": 28, "bad": 12})
        if score is None:
            return None
        if score == "unoffered":
            return {"score": "unoffered"}
        reason_index = 0 if score == "good" else rng.randint(1, 4)
        return {
            "id": SATISFACTION_RATING_ID_BASE + plan.id - TICKET_ID_BASE,
            "score": score,
            "comment": choose(
                rng, ("", "Thanks!", "Slow, but solved.", "Très bien 👍")
            ),
            "reason": SATISFACTION_REASONS[reason_index],
            "reason_id": SATISFACTION_REASON_ID_BASE + reason_index,
        }

    def sharing_agreement_ids(self, rng: random.Random) -> list[int]:
        """Return the ids of sharing agreements, usually none."""
        if chance(rng, 0.03):
            return [SHARING_AGREEMENT_ID_BASE + 1]
        return []

    def custom_status_id(self, status: str) -> int:
        """Return the default custom status id of a status category."""
        category = "solved" if status in {"closed", "deleted"} else status
        return self.catalog.custom_status_ids[category]

    def due_at(self, rng: random.Random, plan: TicketPlan) -> str | None:
        """Return a due date for tasks, null for every other type."""
        if plan.type != "task":
            return None
        return iso_time(plan.created_at + rng.randint(1, 14) * DAY)

    def adjust_for_channel(
        self, rng: random.Random, ticket: dict, plan: TicketPlan, brand_id: int
    ) -> None:
        """Set the fields that depend on how the ticket arrived."""
        if plan.channel == "email":
            ticket["recipient"] = "support@acme.example"
        if plan.channel in {"api", "web"} and chance(rng, 0.3):
            ticket["submitter_id"] = choose(rng, self.catalog.agent_ids)
        if plan.channel == "ai_agent":
            ticket["tags"] = [*ticket["tags"], "ai_agent_handled"]
        if brand_id != self.brand_ids[0] and chance(rng, 0.1):
            ticket["raw_subject"] = "{{dc.order_issue}}"


def field_value(rng: random.Random, custom: CustomField) -> object:
    """Return a value of the kind Zendesk stores for the field's type."""
    kind = custom.spec.type
    if kind == "checkbox":
        return chance(rng, 0.2)
    if kind == "multiselect":
        if chance(rng, 0.3):
            return None
        return rng.sample(custom.spec.options, rng.randint(0, 2))
    if chance(rng, 0.45):
        return None
    return _scalar_field_value(rng, custom)


def _scalar_field_value(rng: random.Random, custom: CustomField) -> str:
    kind = custom.spec.type
    if kind == "tagger":
        return choose(rng, custom.spec.options)
    if kind == "date":
        return iso_date(1_700_000_000 + rng.randint(0, 800) * DAY)
    if kind in {"integer", "decimal"}:
        # Zendesk sends numeric field values as strings, such as "745".
        number = rng.randint(1, 2000)
        return str(number) if kind == "integer" else f"{number / 7:.2f}"
    if kind == "regexp":
        return f"ABC-{rng.randint(1000, 9999)}"
    if kind == "textarea":
        return 'Called twice.\nCustomer says "urgent".'
    return choose(rng, TEXT_VALUES)
