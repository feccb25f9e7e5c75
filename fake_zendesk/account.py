"""A Zendesk account: tickets at their current version plus the objects they use.

Tickets are kept as serialized JSON so that a 100,000-ticket account fits in a few
hundred megabytes and a page is served by joining bytes. `Account.tickets` decodes
on access. All methods are thread-safe.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec

from fake_zendesk.catalog import Catalog, build_catalog
from fake_zendesk.changes import apply_agent_change, erase_for_deletion
from fake_zendesk.common import DAY, iso_time, parse_iso_time, seeded_random
from fake_zendesk.generate import generate_tickets
from fake_zendesk.tickets import TicketBuilder, draft_plan, ticket_id_for

if TYPE_CHECKING:
    import random

DEFAULT_BASE_URL = "https://example.zendesk.com"
# Objects of a catalog built for given tickets are created before 2025-01-01.
DEFAULT_CATALOG_SINCE = 1_735_689_600
# Above this many changed tickets, re-sorting the index is cheaper than bisecting.
RESORT_THRESHOLD = 64


@dataclass(slots=True)
class TicketEntry:
    """One ticket version: its JSON bytes and the attributes the server filters on."""

    id: int
    generated_timestamp: int
    blob: bytes
    status: str
    ai_agent: bool
    created_at: int
    updated_at: int
    user_ids: tuple[int, ...]
    organization_id: int | None
    group_id: int | None
    brand_id: int | None

    @property
    def position(self) -> tuple[int, int]:
        """The export order key: `(generated_timestamp, id)`."""
        return (self.generated_timestamp, self.id)

    @property
    def deleted(self) -> bool:
        """Whether the ticket is deleted (status `deleted`)."""
        return self.status == "deleted"

    @classmethod
    def from_ticket(cls, ticket: dict) -> TicketEntry:
        """Serialize `ticket` and extract the attributes the server needs.

        Only `id` and `generated_timestamp` are required. A missing `created_at`
        or `updated_at` counts as the `generated_timestamp`.

        Raises:
            KeyError: If `id` or `generated_timestamp` is missing.
        """
        stamp = ticket["generated_timestamp"]
        user_ids = [
            ticket.get(key) for key in ("requester_id", "submitter_id", "assignee_id")
        ]
        via = ticket.get("via") or {}
        return cls(
            id=ticket["id"],
            generated_timestamp=stamp,
            blob=msgspec.json.encode(ticket),
            status=ticket.get("status") or "open",
            ai_agent=via.get("channel") == "ai_agent",
            created_at=_epoch_or(ticket.get("created_at"), stamp),
            updated_at=_epoch_or(ticket.get("updated_at"), stamp),
            user_ids=tuple(user_id for user_id in user_ids if user_id is not None),
            organization_id=ticket.get("organization_id"),
            group_id=ticket.get("group_id"),
            brand_id=ticket.get("brand_id"),
        )


def _epoch_or(value: str | None, default: int) -> int:
    return default if value is None else parse_iso_time(value)


class TicketsView(Mapping[int, dict]):
    """A read-only mapping from ticket id to a decoded copy of its current version.

    Changing a returned dictionary does not change the account: use the `Account`
    methods for that.
    """

    def __init__(self, account: Account) -> None:
        """Create a view of `account`'s tickets."""
        self._account = account

    def __getitem__(self, key: int) -> dict:
        """Return a decoded copy of ticket `key`."""
        return msgspec.json.decode(self._account.entry(key).blob)

    def __iter__(self) -> Iterator[int]:
        """Iterate over ticket ids in ascending order."""
        return iter(self._account.ids())

    def __len__(self) -> int:
        """Return the number of tickets, deleted ones included."""
        return self._account.ticket_count()


class Account:
    """The tickets, users, organizations, groups, brands and fields of one account."""

    def __init__(
        self,
        tickets: Iterable[dict] = (),
        *,
        catalog: Catalog | None = None,
        seed: int = 0,
    ) -> None:
        """Create an account holding `tickets` at their given versions.

        Args:
            tickets: Ticket objects in Zendesk's export shape.
            catalog: Users, organizations and other referenced objects. A small
                catalog is generated from `seed` when omitted.
            seed: Seed for the catalog and for the content of later changes.
        """
        self._lock = threading.RLock()
        self._entries: dict[int, TicketEntry] = {}
        self._order: list[tuple[int, int]] = []
        self._seed = seed
        self._change_count = 0
        if catalog is None:
            rng = seeded_random(seed)
            catalog = build_catalog(rng, 0, DEFAULT_CATALOG_SINCE, DEFAULT_BASE_URL)
        self.catalog = catalog
        self._builder = TicketBuilder(catalog)
        self._load(tickets)

    @classmethod
    def generate(
        cls,
        count: int,
        seed: int = 0,
        now: float | None = None,
        span_days: int = 365,
    ) -> Account:
        """Generate an account of `count` tickets, the same for the same arguments.

        Args:
            count: Number of tickets.
            seed: Seed of the random generator.
            now: Epoch seconds the history ends at (default: the system time).
                Every `generated_timestamp` lies in `[now - span_days, now - 120]`.
            span_days: Length of the history in days.
        """
        end = int(time.time() if now is None else now)
        rng = seeded_random(seed)
        since = end - span_days * DAY
        catalog = build_catalog(rng, count, since, DEFAULT_BASE_URL)
        builder = TicketBuilder(catalog)
        tickets = generate_tickets(rng, builder, count, end, span_days)
        return cls(tickets, catalog=catalog, seed=seed)

    @property
    def lock(self) -> threading.RLock:
        """The lock that guards the tickets; hold it while calling `scan`."""
        return self._lock

    @property
    def base_url(self) -> str:
        """The account URL that object `url` fields start with."""
        return self.catalog.base_url

    @property
    def tickets(self) -> TicketsView:
        """Every ticket at its current version, deleted ones included."""
        return TicketsView(self)

    @property
    def users(self) -> dict[int, dict]:
        """Users by id: agents, admins and the end users who request tickets."""
        return self.catalog.users

    @property
    def groups(self) -> dict[int, dict]:
        """Groups by id."""
        return self.catalog.groups

    @property
    def organizations(self) -> dict[int, dict]:
        """Organizations by id."""
        return self.catalog.organizations

    @property
    def brands(self) -> dict[int, dict]:
        """Brands by id."""
        return self.catalog.brands

    @property
    def ticket_fields(self) -> list[dict]:
        """Ticket field definitions, system fields first, in position order."""
        return self.catalog.ticket_fields

    def entry(self, ticket_id: int) -> TicketEntry:
        """Return the current version of a ticket.

        Raises:
            KeyError: If the account has no ticket with that id.
        """
        with self._lock:
            try:
                return self._entries[ticket_id]
            except KeyError:
                message = f"ticket {ticket_id} not found"
                raise KeyError(message) from None

    def ids(self) -> list[int]:
        """Return every ticket id in ascending order, deleted tickets included."""
        with self._lock:
            return sorted(self._entries)

    def active_ids(self) -> list[int]:
        """Return the ids of tickets that are not deleted, in ascending order."""
        with self._lock:
            return sorted(
                entry.id for entry in self._entries.values() if not entry.deleted
            )

    def ticket_count(self) -> int:
        """Return the number of tickets, deleted ones included."""
        with self._lock:
            return len(self._entries)

    def versions(self) -> list[tuple[int, int]]:
        """Return `(id, generated_timestamp)` of every current version, by id."""
        with self._lock:
            return sorted(
                (entry.id, entry.generated_timestamp)
                for entry in self._entries.values()
            )

    def scan(self, position: tuple[int, int]) -> Iterator[TicketEntry]:
        """Yield tickets in export order from `(generated_timestamp, id)` on.

        The caller must hold `lock` for the whole iteration.
        """
        order = self._order
        index = bisect.bisect_left(order, position)
        while index < len(order):
            yield self._entries[order[index][1]]
            index += 1

    def export_all(self) -> bytes:
        """Return `{"tickets": [...], "count": n}` as JSON: every ticket, by id."""
        with self._lock:
            blobs = [self._entries[key].blob for key in sorted(self._entries)]
        count = str(len(blobs)).encode()
        return b'{"tickets":[' + b",".join(blobs) + b'],"count":' + count + b"}"

    def put(self, ticket: dict) -> None:
        """Store `ticket` as the current version of its id, exactly as given.

        Tests use it for shapes the generator does not make. Only `id` and
        `generated_timestamp` are required.
        """
        with self._lock:
            self._replace([ticket])

    def update(self, ids: Iterable[int], at: float) -> None:
        """Record an agent update of each ticket at epoch second `at`.

        Each ticket gets `generated_timestamp` and `updated_at` set to `at` and one
        other field changed (status, priority, tags, assignee or a custom field).
        Zendesk rejects agent updates to deleted tickets, so a deleted ticket only
        gets the new timestamps and stays deleted.

        Raises:
            KeyError: If a ticket does not exist.
        """
        stamp = int(at)
        with self._lock:
            changed = []
            for ticket_id in ids:
                ticket = msgspec.json.decode(self.entry(ticket_id).blob)
                if ticket.get("status") != "deleted":
                    rng = self._change_rng(ticket_id, stamp)
                    apply_agent_change(rng, ticket, self.catalog)
                ticket["updated_at"] = iso_time(stamp)
                ticket["generated_timestamp"] = stamp
                changed.append(ticket)
            self._replace(changed)

    def bulk_update(self, ids: Iterable[int], at: float) -> None:
        """Update many tickets in one second, as a bulk update or a trigger does.

        Every ticket gets the same `generated_timestamp`, which is what makes pages
        of the time-based export grow or stall.
        """
        self.update(ids, at)

    def system_update(self, ids: Iterable[int], at: float) -> None:
        """Record a system update: `generated_timestamp` moves, `updated_at` stays.

        Raises:
            KeyError: If a ticket does not exist.
        """
        stamp = int(at)
        with self._lock:
            changed = []
            for ticket_id in ids:
                ticket = msgspec.json.decode(self.entry(ticket_id).blob)
                ticket["generated_timestamp"] = stamp
                changed.append(ticket)
            self._replace(changed)

    def create(self, n: int, at: float) -> list[int]:
        """Create `n` new tickets at epoch second `at` and return their ids."""
        stamp = int(at)
        with self._lock:
            newest_id = max(self._entries, default=ticket_id_for(0))
            first_number = newest_id - ticket_id_for(0) + 1
            rng = seeded_random(f"{self._seed}:create:{first_number}")
            created = []
            for number in range(first_number, first_number + n):
                plan = draft_plan(rng, number, (stamp, stamp, stamp))
                plan.status = "new"
                created.append(self._builder.build(rng, plan))
            self._replace(created)
            return [ticket["id"] for ticket in created]

    def delete(self, ids: Iterable[int], at: float) -> None:
        """Delete tickets at epoch second `at`.

        A deleted ticket keeps its id and is exported with status `deleted`, null
        custom field values and a null `satisfaction_rating`. Deleting it again
        only moves its timestamps.

        Raises:
            KeyError: If a ticket does not exist.
        """
        stamp = int(at)
        with self._lock:
            changed = []
            for ticket_id in ids:
                ticket = msgspec.json.decode(self.entry(ticket_id).blob)
                erase_for_deletion(ticket)
                ticket["updated_at"] = iso_time(stamp)
                ticket["generated_timestamp"] = stamp
                changed.append(ticket)
            self._replace(changed)

    def pick_active(self, count: int, salt: str) -> list[int]:
        """Choose up to `count` non-deleted ticket ids, deterministically.

        Args:
            count: Number of ids wanted.
            salt: Text mixed into the seed so that separate calls choose differently.
        """
        with self._lock:
            candidates = self.active_ids()
            rng = seeded_random(f"{self._seed}:{salt}:{self._change_count}")
            return sorted(rng.sample(candidates, min(count, len(candidates))))

    def _change_rng(self, ticket_id: int, stamp: int) -> random.Random:
        return seeded_random(f"{self._seed}:{ticket_id}:{stamp}:{self._change_count}")

    def _load(self, tickets: Iterable[dict]) -> None:
        with self._lock:
            for ticket in tickets:
                entry = TicketEntry.from_ticket(ticket)
                self._entries[entry.id] = entry
            self._order = sorted(entry.position for entry in self._entries.values())

    def _replace(self, tickets: list[dict]) -> None:
        """Store new versions and keep the export order index sorted."""
        self._change_count += 1
        entries = [TicketEntry.from_ticket(ticket) for ticket in tickets]
        if len(entries) > RESORT_THRESHOLD:
            self._entries.update((entry.id, entry) for entry in entries)
            self._order = sorted(entry.position for entry in self._entries.values())
            return
        for entry in entries:
            old = self._entries.get(entry.id)
            if old is not None:
                del self._order[bisect.bisect_left(self._order, old.position)]
            bisect.insort(self._order, entry.position)
            self._entries[entry.id] = entry
