"""The objects that tickets refer to: users, organizations, groups, brands and fields.

Everything is generated from a `random.Random`, so the same seed always gives the
same catalog. Field names and shapes follow Zendesk's Support API reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fake_zendesk.common import (
    BRAND_ID_BASE,
    CUSTOM_STATUS_ID_BASE,
    DAY,
    FIELD_OPTION_ID_BASE,
    GROUP_ID_BASE,
    ORGANIZATION_ID_BASE,
    TICKET_FIELD_ID_BASE,
    TICKET_FORM_ID_BASE,
    USER_ID_BASE,
    chance,
    iso_time,
)

if TYPE_CHECKING:
    import random

FIRST_NAMES = (
    ("Ana", "ana"), ("Ben", "ben"), ("Chloé", "chloe"), ("Dmitri", "dmitri"),
    ("Emeka", "emeka"), ("Fatima", "fatima"), ("Giulia", "giulia"), ("Hiro", "hiro"),
    ("Ines", "ines"), ("José", "jose"), ("Kai", "kai"), ("Łukasz", "lukasz"),
    ("Maya", "maya"), ("Nils", "nils"), ("Olivia", "olivia"), ("Priya", "priya"),
    ("Quentin", "quentin"), ("Rosa", "rosa"), ("Søren", "soren"), ("Tomás", "tomas"),
    ("Uma", "uma"), ("Viktor", "viktor"), ("Wen", "wen"), ("Zoë", "zoe"),
)  # fmt: skip
LAST_NAMES = (
    ("Abe", "abe"), ("Barros", "barros"), ("Chen", "chen"), ("Dubois", "dubois"),
    ("Eriksen", "eriksen"), ("Fischer", "fischer"), ("García", "garcia"),
    ("Hughes", "hughes"), ("Ivanova", "ivanova"), ("Jónsson", "jonsson"),
    ("Kowalski", "kowalski"), ("López", "lopez"), ("Müller", "muller"),
    ("Nakamura", "nakamura"), ("O'Brien", "obrien"), ("Patel", "patel"),
    ("Rossi", "rossi"), ("Silva", "silva"), ("Tanaka", "tanaka"),
    ("Van Dijk", "vandijk"),
)  # fmt: skip
COMPANY_WORDS = (
    "Acme", "Northwind", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay",
    "Stark", "Wayne", "Cyberdyne", "Tyrell", "Soylent", "Wonka", "Gringotts",
)  # fmt: skip
COMPANY_SUFFIXES = ("Ltd", "GmbH", "Inc.", "S.A.", "K.K.", "& Co", "AB", "LLC")
TIME_ZONES = (
    ("Eastern Time (US & Canada)", "America/New_York"),
    ("Pacific Time (US & Canada)", "America/Los_Angeles"),
    ("London", "Europe/London"),
    ("Berlin", "Europe/Berlin"),
    ("Tokyo", "Asia/Tokyo"),
    ("Sydney", "Australia/Sydney"),
    ("Brasilia", "America/Sao_Paulo"),
    ("Mumbai", "Asia/Kolkata"),
    ("UTC", "Etc/UTC"),
)
LOCALES = (("en-US", 1), ("es", 2), ("de", 8), ("fr", 16), ("pt-br", 19), ("ja", 67))
GROUP_NAMES = ("Support", "Billing", "Escalations", "Returns", "Technical", "VIP")
BRAND_NAMES = ("Acme Support", "Acme Store", "Acme Labs")
ADMIN_COUNT = 2
STATUS_CATEGORIES = ("new", "open", "pending", "hold", "solved")


@dataclass(frozen=True)
class FieldSpec:
    """The definition of one custom ticket field before ids are assigned."""

    title: str
    type: str
    options: tuple[str, ...] = ()
    active: bool = True
    regexp: str | None = None
    tag: str | None = None


CUSTOM_FIELD_SPECS = (
    FieldSpec("Order reference", "regexp", regexp=r"\A[A-Z]{3}-\d{4}\z"),
    FieldSpec("Customer tier", "tagger", ("tier_gold", "tier_silver", "tier_bronze")),
    FieldSpec(
        "Product area",
        "tagger",
        ("area_billing", "area_shipping", "area_returns", "area_account", "area_app"),
    ),
    FieldSpec(
        "Affected platforms",
        "multiselect",
        ("platform_web", "platform_ios", "platform_android", "platform_api"),
    ),
    FieldSpec("Escalated", "checkbox", tag="escalated"),
    FieldSpec("VIP customer", "checkbox", tag="vip"),
    FieldSpec("Promised date", "date"),
    FieldSpec("Units affected", "integer"),
    FieldSpec("Refund amount", "decimal"),
    FieldSpec("Internal notes", "textarea"),
    FieldSpec("Serial number", "text"),
    FieldSpec("Region", "tagger", ("region_emea", "region_amer", "region_apac")),
    FieldSpec("Renewal date", "date", active=False),
    FieldSpec(
        "Contact reasons",
        "multiselect",
        ("reason_bug", "reason_question", "reason_feedback", "reason_refund"),
    ),
    FieldSpec("Partner reference", "text", active=False),
    FieldSpec("Root cause", "tagger", ("cause_user", "cause_product", "cause_vendor")),
    FieldSpec("Legacy category", "tagger", ("legacy_a", "legacy_b"), active=False),
    FieldSpec("Old SLA tier", "tagger", ("sla_basic", "sla_premium"), active=False),
    FieldSpec("Survey sent", "checkbox", active=False, tag="survey_sent"),
    FieldSpec("Legacy priority score", "integer", active=False),
    FieldSpec("Migration id", "text", active=False),
    FieldSpec("Warranty expiry", "date", active=False),
    FieldSpec("Discount percent", "decimal", active=False),
    FieldSpec("Legacy labels", "multiselect", ("label_x", "label_y"), active=False),
    FieldSpec("Callback number", "text", active=False),
    FieldSpec("Case origin", "tagger", ("origin_phone", "origin_web"), active=False),
    FieldSpec("Feedback notes", "textarea", active=False),
    FieldSpec("Legacy SKU", "regexp", active=False, regexp=r"\A\d{6}\z"),
    FieldSpec("Card on file", "partialcreditcard", active=False),
    FieldSpec("Contract value", "decimal", active=False),
    FieldSpec("Onboarding done", "checkbox", active=False, tag="onboarded"),
    FieldSpec("Preferred language", "text", active=False),
)
SYSTEM_FIELDS = (
    ("subject", "Subject", "Please enter a short summary of your request."),
    ("description", "Description", "Please enter the details of your request."),
    ("status", "Status", "Request status"),
    ("tickettype", "Type", "Request type"),
    ("priority", "Priority", "Request priority"),
    ("group", "Group", "Request group"),
    ("assignee", "Assignee", "Agent assigned to your request"),
    ("custom_status", "Ticket status", "Request ticket status"),
)
SYSTEM_FIELD_OPTIONS = {
    "status": ("new", "open", "pending", "hold", "solved", "closed"),
    "tickettype": ("question", "incident", "problem", "task"),
    "priority": ("low", "normal", "high", "urgent"),
}


@dataclass(frozen=True)
class CustomField:
    """An active custom field as it appears in every ticket's `custom_fields`."""

    id: int
    spec: FieldSpec


@dataclass
class Catalog:
    """Users, organizations, groups, brands, forms and fields of one account."""

    base_url: str
    users: dict[int, dict] = field(default_factory=dict)
    agent_ids: list[int] = field(default_factory=list)
    customer_ids: list[int] = field(default_factory=list)
    organizations: dict[int, dict] = field(default_factory=dict)
    groups: dict[int, dict] = field(default_factory=dict)
    brands: dict[int, dict] = field(default_factory=dict)
    ticket_fields: list[dict] = field(default_factory=list)
    custom_fields: list[CustomField] = field(default_factory=list)
    ticket_form_ids: list[int] = field(default_factory=list)
    custom_status_ids: dict[str, int] = field(default_factory=dict)


def build_catalog(
    rng: random.Random, ticket_count: int, since: int, base_url: str
) -> Catalog:
    """Generate a catalog sized for `ticket_count` tickets.

    Args:
        rng: Source of randomness, consumed in a fixed order.
        ticket_count: Number of tickets the catalog must serve.
        since: Epoch seconds before which every catalog object was created.
        base_url: Account URL such as `https://example.zendesk.com`.
    """
    catalog = Catalog(base_url=base_url)
    catalog.brands = _build_brands(rng, since, base_url)
    catalog.groups = _build_groups(rng, since, base_url)
    catalog.organizations = _build_organizations(rng, ticket_count, since, base_url)
    _build_users(catalog, rng, ticket_count, since)
    catalog.ticket_form_ids = [TICKET_FORM_ID_BASE + n for n in range(1, 4)]
    catalog.custom_status_ids = {
        category: CUSTOM_STATUS_ID_BASE + n
        for n, category in enumerate(STATUS_CATEGORIES, start=1)
    }
    _build_ticket_fields(catalog, rng, since)
    return catalog


def _created_before(rng: random.Random, since: int) -> tuple[str, str]:
    """Return `created_at` and `updated_at` for an object made before `since`."""
    created = since - rng.randint(30 * DAY, 900 * DAY)
    updated = created + rng.randint(0, since - created)
    return iso_time(created), iso_time(updated)


def _build_brands(rng: random.Random, since: int, base_url: str) -> dict[int, dict]:
    brands = {}
    form_ids = [TICKET_FORM_ID_BASE + n for n in range(1, 4)]
    for n, name in enumerate(BRAND_NAMES, start=1):
        brand_id = BRAND_ID_BASE + n
        subdomain = name.lower().replace(" ", "-")
        has_help_center = n < len(BRAND_NAMES)
        created_at, updated_at = _created_before(rng, since)
        brands[brand_id] = {
            "url": f"{base_url}/api/v2/brands/{brand_id}.json",
            "id": brand_id,
            "name": name,
            "brand_url": f"https://{subdomain}.zendesk.com",
            "subdomain": subdomain,
            "host_mapping": None if n > 1 else "help.acme.example",
            "has_help_center": has_help_center,
            "help_center_state": "enabled" if has_help_center else "disabled",
            "active": True,
            "default": n == 1,
            "is_deleted": False,
            "logo": None,
            "ticket_form_ids": form_ids,
            "signature_template": "{{agent.signature}}",
            "created_at": created_at,
            "updated_at": updated_at,
        }
    return brands


def _build_groups(rng: random.Random, since: int, base_url: str) -> dict[int, dict]:
    groups = {}
    for n, name in enumerate(GROUP_NAMES, start=1):
        group_id = GROUP_ID_BASE + n
        created_at, updated_at = _created_before(rng, since)
        groups[group_id] = {
            "url": f"{base_url}/api/v2/groups/{group_id}.json",
            "id": group_id,
            "is_public": name != "Escalations",
            "name": name,
            "description": f"Agents who handle {name.lower()} requests",
            "default": n == 1,
            "deleted": False,
            "created_at": created_at,
            "updated_at": updated_at,
        }
    return groups


def _build_organizations(
    rng: random.Random, ticket_count: int, since: int, base_url: str
) -> dict[int, dict]:
    organizations = {}
    total = min(max(ticket_count // 20, 5), 500)
    for n in range(1, total + 1):
        organization_id = ORGANIZATION_ID_BASE + n
        word = COMPANY_WORDS[n % len(COMPANY_WORDS)]
        name = f"{word} {rng.choice(COMPANY_SUFFIXES)} {n}"
        domain = f"{word.lower()}{n}.example"
        created_at, updated_at = _created_before(rng, since)
        organizations[organization_id] = {
            "url": f"{base_url}/api/v2/organizations/{organization_id}.json",
            "id": organization_id,
            "name": name,
            "shared_tickets": chance(rng, 0.3),
            "shared_comments": chance(rng, 0.2),
            "external_id": None if chance(rng, 0.5) else f"ORG-{n:05d}",
            "created_at": created_at,
            "updated_at": updated_at,
            "domain_names": [domain],
            "details": "" if chance(rng, 0.6) else f"Customer since {created_at[:4]}",
            "notes": "",
            "group_id": rng.choice(
                [None, *range(GROUP_ID_BASE + 1, GROUP_ID_BASE + 4)]
            ),
            "tags": rng.sample(
                ["enterprise", "smb", "partner", "trial", "churn_risk"], 2
            ),
            "organization_fields": {
                "account_manager": None,
                "seats": rng.randint(1, 500),
            },
        }
    return organizations


def _build_users(
    catalog: Catalog, rng: random.Random, ticket_count: int, since: int
) -> None:
    agent_count = min(12 + ticket_count // 2000, 60)
    customer_count = min(max(ticket_count // 4, 20), 5000)
    organization_ids = list(catalog.organizations)
    for n in range(1, agent_count + customer_count + 1):
        user_id = USER_ID_BASE + n
        is_agent = n <= agent_count
        role = "end-user"
        if is_agent:
            role = "admin" if n <= ADMIN_COUNT else "agent"
        organization_id = None
        if not is_agent and chance(rng, 0.8):
            organization_id = rng.choice(organization_ids)
        user = _build_user(catalog.base_url, rng, user_id, role, since)
        user["organization_id"] = organization_id
        catalog.users[user_id] = user
        (catalog.agent_ids if is_agent else catalog.customer_ids).append(user_id)


def _build_user(
    base_url: str, rng: random.Random, user_id: int, role: str, since: int
) -> dict:
    first, first_ascii = rng.choice(FIRST_NAMES)
    last, last_ascii = rng.choice(LAST_NAMES)
    time_zone, iana_time_zone = rng.choice(TIME_ZONES)
    locale, locale_id = rng.choice(LOCALES)
    created_at, updated_at = _created_before(rng, since)
    is_agent = role != "end-user"
    domain = "acme.example" if is_agent else "mail.example"
    has_phone = chance(rng, 0.3)
    return {
        "id": user_id,
        "url": f"{base_url}/api/v2/users/{user_id}.json",
        "name": f"{first} {last}",
        "email": f"{first_ascii}.{last_ascii}.{user_id % 100_000}@{domain}",
        "created_at": created_at,
        "updated_at": updated_at,
        "time_zone": time_zone,
        "iana_time_zone": iana_time_zone,
        "phone": f"+1555{user_id % 10_000_000:07d}" if has_phone else None,
        "shared_phone_number": False if has_phone else None,
        "photo": None,
        "locale_id": locale_id,
        "locale": locale,
        "organization_id": None,
        "role": role,
        "verified": is_agent or chance(rng, 0.7),
        "external_id": None,
        "tags": [] if is_agent else rng.sample(["newsletter", "beta", "reseller"], 1),
        "alias": "",
        "active": True,
        "shared": False,
        "shared_agent": False,
        "last_login_at": updated_at if is_agent else None,
        "two_factor_auth_enabled": None,
        "signature": f"Best regards,\n{first}" if is_agent else None,
        "details": "",
        "notes": "",
        "role_type": None,
        "custom_role_id": None,
        "moderator": is_agent,
        "ticket_restriction": None if is_agent else "requested",
        "only_private_comments": False,
        "restricted_agent": not is_agent,
        "suspended": False,
        "default_group_id": GROUP_ID_BASE + 1 if is_agent else None,
        "report_csv": role == "admin",
        "user_fields": {"customer_since": created_at[:10], "plan": None},
    }


def _build_ticket_fields(catalog: Catalog, rng: random.Random, since: int) -> None:
    position = 0
    for position, (field_type, title, description) in enumerate(SYSTEM_FIELDS):
        field_id = TICKET_FIELD_ID_BASE + position + 1
        definition = _field_definition(catalog.base_url, rng, field_id, since)
        definition.update(
            type=field_type,
            title=title,
            raw_title=title,
            description=description,
            raw_description=description,
            position=position,
            removable=False,
            required=field_type == "subject",
            key=None,
        )
        _add_system_options(definition, field_type, catalog.custom_status_ids)
        catalog.ticket_fields.append(definition)
    option_id = FIELD_OPTION_ID_BASE
    for offset, spec in enumerate(CUSTOM_FIELD_SPECS, start=1):
        field_id = TICKET_FIELD_ID_BASE + len(SYSTEM_FIELDS) + offset
        definition = _field_definition(catalog.base_url, rng, field_id, since)
        definition.update(_custom_field_attributes(spec, position + offset))
        if spec.options:
            definition["custom_field_options"] = [
                _field_option(option_id + n, value)
                for n, value in enumerate(spec.options, start=1)
            ]
            option_id += 100
        catalog.ticket_fields.append(definition)
        if spec.active:
            catalog.custom_fields.append(CustomField(field_id, spec))


def _field_definition(
    base_url: str, rng: random.Random, field_id: int, since: int
) -> dict:
    created_at, updated_at = _created_before(rng, since)
    return {
        "url": f"{base_url}/api/v2/ticket_fields/{field_id}.json",
        "id": field_id,
        "type": "",
        "title": "",
        "raw_title": "",
        "description": "",
        "raw_description": "",
        "position": 0,
        "active": True,
        "required": False,
        "collapsed_for_agents": False,
        "regexp_for_validation": None,
        "title_in_portal": "",
        "raw_title_in_portal": "",
        "visible_in_portal": True,
        "editable_in_portal": True,
        "required_in_portal": False,
        "agent_can_edit": True,
        "tag": None,
        "created_at": created_at,
        "updated_at": updated_at,
        "removable": True,
        "key": None,
        "agent_description": None,
    }


def _custom_field_attributes(spec: FieldSpec, position: int) -> dict:
    description = f"{spec.title} of the request"
    return {
        "type": spec.type,
        "title": spec.title,
        "raw_title": spec.title,
        "description": description,
        "raw_description": description,
        "position": position,
        "active": spec.active,
        "collapsed_for_agents": not spec.active,
        "regexp_for_validation": spec.regexp,
        "title_in_portal": spec.title,
        "raw_title_in_portal": spec.title,
        "visible_in_portal": spec.type not in {"textarea", "partialcreditcard"},
        "editable_in_portal": spec.type in {"text", "tagger", "date"},
        "tag": spec.tag,
        "key": spec.title.lower().replace(" ", "_"),
        "agent_description": f"Set by agents: {spec.title.lower()}",
    }


def _field_option(option_id: int, value: str) -> dict:
    name = value.split("_", 1)[1].replace("_", " ").title()
    return {
        "id": option_id,
        "name": name,
        "raw_name": name,
        "value": value,
        "default": False,
    }


def _add_system_options(
    definition: dict, field_type: str, custom_status_ids: dict[str, int]
) -> None:
    if field_type in SYSTEM_FIELD_OPTIONS:
        definition["system_field_options"] = [
            {"name": value.title(), "value": value}
            for value in SYSTEM_FIELD_OPTIONS[field_type]
        ]
    if field_type == "custom_status":
        definition["custom_statuses"] = [
            {
                "id": status_id,
                "status_category": category,
                "agent_label": category.title(),
                "end_user_label": category.title(),
                "active": True,
                "default": True,
            }
            for category, status_id in custom_status_ids.items()
        ]
    if field_type == "priority":
        definition["sub_type_id"] = 0
