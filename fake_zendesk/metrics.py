"""Ticket metric sets, the objects of the `metric_sets` sideload.

A metric set is computed on demand from a few ticket attributes and a hash of the
ticket id, so the same ticket version always gets the same metric set and the
account stores nothing extra for it.
"""

from __future__ import annotations

from fake_zendesk.common import METRIC_SET_ID_BASE, TICKET_ID_BASE, iso_time, mix

SOLVED_STATUSES = frozenset({"solved", "closed"})


def build_metric_set(
    base_url: str, ticket_id: int, times: tuple[int, int], status: str
) -> dict:
    """Return the metric set of one ticket version.

    Args:
        base_url: Account URL such as `https://example.zendesk.com`.
        ticket_id: Id of the ticket.
        times: The ticket's `created_at` and `updated_at` in epoch seconds.
        status: The ticket's status; solved and closed tickets get `solved_at`.
    """
    created_at, updated_at = times
    seed = mix(ticket_id)
    lifetime = max(updated_at - created_at, 0)
    assigned_at = created_at + min(lifetime, seed % 7200)
    reply_minutes = (seed >> 8) % 600
    solved = status in SOLVED_STATUSES
    resolution_minutes = lifetime // 60 if solved else None
    metric_set_id = METRIC_SET_ID_BASE + ticket_id - TICKET_ID_BASE
    updated = iso_time(updated_at)
    assigned = iso_time(assigned_at)
    return {
        "url": f"{base_url}/api/v2/ticket_metrics/{metric_set_id}.json",
        "id": metric_set_id,
        "ticket_id": ticket_id,
        "created_at": iso_time(created_at),
        "updated_at": updated,
        "group_stations": 1 + (seed >> 16) % 3,
        "assignee_stations": 1 + (seed >> 20) % 4,
        "reopens": (seed >> 24) % 3 if solved else 0,
        "replies": (seed >> 28) % 8,
        "assignee_updated_at": updated if seed % 3 else None,
        "requester_updated_at": assigned,
        "status_updated_at": updated,
        "initially_assigned_at": assigned,
        "assigned_at": assigned,
        "solved_at": updated if solved else None,
        "latest_comment_added_at": updated,
        "reply_time_in_minutes": _minutes(reply_minutes, reply_minutes // 2),
        "first_resolution_time_in_minutes": _minutes(
            resolution_minutes, _business(resolution_minutes)
        ),
        "full_resolution_time_in_minutes": _minutes(
            resolution_minutes, _business(resolution_minutes)
        ),
        "agent_wait_time_in_minutes": _minutes((seed >> 32) % 300, (seed >> 32) % 120),
        "requester_wait_time_in_minutes": _minutes(
            (seed >> 40) % 900, (seed >> 40) % 400
        ),
        "on_hold_time_in_minutes": _minutes(0, 0),
    }


def _minutes(calendar: int | None, business: int | None) -> dict[str, int | None]:
    return {"calendar": calendar, "business": business}


def _business(calendar: int | None) -> int | None:
    """Estimate business minutes as a third of calendar minutes (8 of 24 hours)."""
    return None if calendar is None else calendar // 3
