"""Plan and build the tickets of a generated account."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fake_zendesk.common import DAY, chance
from fake_zendesk.tickets import TicketBuilder, TicketPlan, draft_plan, pick

if TYPE_CHECKING:
    import random
    from collections.abc import Iterator
from itertools import pairwise

DELETED_SHARE = 0.02
SAME_SECOND_SHARE = 0.06
FOLLOWUP_SHARE = 0.02
# Zendesk never exports the last minute, so generated history ends before it.
NEWEST_AGE_SECONDS = 120


def plan_times(
    rng: random.Random, count: int, now: int, span_days: int
) -> list[tuple[int, int, int]]:
    """Draw `created_at`, `updated_at` and `generated_timestamp` for each ticket.

    Tickets are returned in creation order, so ids follow `created_at`. Every
    `generated_timestamp` lies in `[now - span_days, now - 120]`. A few tickets share
    one `generated_timestamp` with another ticket, and about one in eight has an
    `updated_at` older than its `generated_timestamp` (a system update).
    """
    oldest = now - span_days * DAY
    newest = now - NEWEST_AGE_SECONDS
    created = sorted(rng.randint(oldest, newest) for _ in range(count))
    generated = [_draw_generated(rng, at, newest) for at in created]
    _share_seconds(rng, created, generated)
    times = []
    for created_at, generated_timestamp in zip(created, generated, strict=True):
        updated_at = generated_timestamp
        if chance(rng, 0.12) and generated_timestamp > created_at:
            updated_at -= rng.randint(1, min(generated_timestamp - created_at, 7 * DAY))
        times.append((created_at, updated_at, generated_timestamp))
    return times


def _draw_generated(rng: random.Random, created_at: int, newest: int) -> int:
    """Return when the ticket last changed: within an hour, two weeks or 120 days."""
    horizon = int(pick(rng, {3600: 40, 14 * DAY: 40, 120 * DAY: 20}))
    delay = rng.randint(0, horizon)
    if created_at + delay > newest:
        return rng.randint(created_at, newest)
    return created_at + delay


def _share_seconds(
    rng: random.Random, created: list[int], generated: list[int]
) -> None:
    """Move some tickets onto the `generated_timestamp` of their predecessor."""
    order = sorted(range(len(generated)), key=generated.__getitem__)
    for previous, current in pairwise(order):
        earlier = generated[previous]
        if rng.random() < SAME_SECOND_SHARE and earlier >= created[current]:
            generated[current] = earlier


def plan_tickets(
    rng: random.Random, times: list[tuple[int, int, int]]
) -> list[TicketPlan]:
    """Draft every ticket and link incidents to problems and follow-ups to sources."""
    plans = [
        draft_plan(rng, number, ticket_times)
        for number, ticket_times in enumerate(times, start=1)
    ]
    problems: list[TicketPlan] = []
    closed: list[TicketPlan] = []
    for plan in plans:
        if plan.type == "incident" and problems and chance(rng, 0.5):
            problem = rng.choice(problems)
            plan.problem_id = problem.id
            problem.has_incidents = True
        elif closed and rng.random() < FOLLOWUP_SHARE:
            source = rng.choice(closed)
            plan.followup_source = (source.id, source.subject)
            source.followup_ids.append(plan.id)
        if plan.type == "problem":
            problems.append(plan)
        if plan.status == "closed":
            closed.append(plan)
    for plan in plans:
        if rng.random() < DELETED_SHARE:
            plan.status = "deleted"
    return plans


def generate_tickets(
    rng: random.Random,
    builder: TicketBuilder,
    count: int,
    now: int,
    span_days: int,
) -> Iterator[dict]:
    """Yield `count` tickets in id order, built one at a time to bound memory."""
    times = plan_times(rng, count, now, span_days)
    for plan in plan_tickets(rng, times):
        yield builder.build(rng, plan)
