"""Edits that turn one ticket version into the next."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fake_zendesk.tickets import PRIORITY_WEIGHTS, TAGS, field_value

if TYPE_CHECKING:
    import random

    from fake_zendesk.catalog import Catalog

# Statuses an agent may set, by current status. Zendesk closes solved tickets on its
# own and rejects agent updates to closed ones, so updates here only tag those.
NEXT_STATUS = {
    "new": ("open",),
    "open": ("pending", "solved", "hold"),
    "pending": ("open", "solved"),
    "hold": ("open",),
    "solved": ("open",),
}
CHANGE_KINDS = ("status", "priority", "tags", "assignee", "custom_field")


def apply_agent_change(rng: random.Random, ticket: dict, catalog: Catalog) -> None:
    """Change one field of `ticket` the way an agent's update would.

    The caller sets `updated_at` and `generated_timestamp`.
    """
    kind = rng.choice(CHANGE_KINDS)
    if ticket["status"] == "closed":
        kind = "tags"
    if kind == "status":
        _change_status(rng, ticket, catalog)
    elif kind == "priority":
        choices = [value for value in PRIORITY_WEIGHTS if value != ticket["priority"]]
        ticket["priority"] = rng.choice(choices)
    elif kind == "assignee":
        ticket["assignee_id"] = rng.choice(catalog.agent_ids)
    elif kind == "custom_field":
        _change_custom_field(rng, ticket, catalog)
    else:
        ticket["tags"] = sorted({*ticket["tags"], rng.choice(TAGS), "updated"})


def _change_status(rng: random.Random, ticket: dict, catalog: Catalog) -> None:
    status = rng.choice(NEXT_STATUS[ticket["status"]])
    ticket["status"] = status
    ticket["custom_status_id"] = catalog.custom_status_ids[status]
    if ticket["assignee_id"] is None:
        ticket["assignee_id"] = rng.choice(catalog.agent_ids)
        ticket["group_id"] = rng.choice(list(catalog.groups))


def _change_custom_field(rng: random.Random, ticket: dict, catalog: Catalog) -> None:
    custom = rng.choice(catalog.custom_fields)
    old = next(
        (item["value"] for item in ticket["custom_fields"] if item["id"] == custom.id),
        None,
    )
    new = field_value(rng, custom)
    for _ in range(5):
        if new != old:
            break
        new = field_value(rng, custom)
    _set_field(ticket, custom.id, new)


def _set_field(ticket: dict, field_id: int, value: object) -> None:
    """Set a custom field value in both `custom_fields` and its copy `fields`."""
    for key in ("custom_fields", "fields"):
        items = ticket[key]
        for item in items:
            if item["id"] == field_id:
                item["value"] = value
                break
        else:
            items.append({"id": field_id, "value": value})


def erase_for_deletion(ticket: dict) -> None:
    """Turn `ticket` into its deleted version, as the export shows it."""
    ticket["status"] = "deleted"
    ticket["satisfaction_rating"] = None
    for key in ("custom_fields", "fields"):
        ticket[key] = [{"id": item["id"], "value": None} for item in ticket[key]]
