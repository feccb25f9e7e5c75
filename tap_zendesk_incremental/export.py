"""Pages of the Incremental Ticket Export and the checks on their shape."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from tap_zendesk_incremental.errors import ExportShapeError


@dataclass(slots=True)
class ExportPage:
    """One decoded page of the time-based export."""

    tickets: list[dict]
    end_time: int | None
    end_of_stream: bool
    next_page: str | None
    body: dict

    @classmethod
    def from_json(cls, body: dict, url: str, per_page: int) -> ExportPage:
        """Check a response against the documented shape and wrap it.

        Without an ``end_of_stream`` flag, as older versions of the API sent, a
        page with fewer than ``per_page`` tickets is the last one.

        Raises:
            ExportShapeError: If ``tickets`` is not a list, a ticket lacks an
                integer ``id`` or ``generated_timestamp``, or ``end_time`` is not
                an integer while tickets are present.
        """
        tickets = body.get("tickets")
        if not isinstance(tickets, list):
            msg = f"Zendesk's answer to {url} has no `tickets` array"
            raise ExportShapeError(msg + "; stopping rather than skipping data.")
        check_tickets(tickets, url)

        end_time = body.get("end_time")
        if not is_int(end_time) and (end_time is not None or tickets):
            msg = (
                f"Zendesk's answer to {url} has `end_time` = {end_time!r}, not an "
                "integer epoch time; stopping rather than guessing where to resume."
            )
            raise ExportShapeError(msg)

        next_page = body.get("next_page")
        end_of_stream = body.get("end_of_stream")
        if not isinstance(end_of_stream, bool):
            end_of_stream = len(tickets) < per_page
        return cls(
            tickets=tickets,
            end_time=end_time,
            end_of_stream=end_of_stream,
            next_page=next_page if isinstance(next_page, str) and next_page else None,
            body=body,
        )


def is_int(value: object) -> bool:
    """Tell whether a JSON value is an integer (booleans excluded)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_tickets(tickets: list, url: str) -> None:
    """Check that every ticket has an integer ``id`` and ``generated_timestamp``.

    Raises:
        ExportShapeError: Naming the first ticket that does not.
    """
    for index, ticket in enumerate(tickets):
        if not isinstance(ticket, dict):
            msg = f"Ticket {index} in Zendesk's answer to {url} is not an object"
            raise ExportShapeError(msg + "; stopping rather than skipping it.")
        for key in ("id", "generated_timestamp"):
            if not is_int(ticket.get(key)):
                msg = (
                    f"Ticket {index} (id {ticket.get('id')!r}) in Zendesk's answer "
                    f"to {url} has no integer `{key}`; stopping rather than "
                    "skipping it."
                )
                raise ExportShapeError(msg)


class BoundaryFilter:
    """Drops the tickets that Zendesk repeats at the top of the next page.

    ``start_time`` is inclusive, so the tickets at a page's ``end_time`` come again
    on the next page. Tickets arrive in ascending ``generated_timestamp``, so only
    the ids seen at the latest second need remembering: a ticket updated during the
    export comes back with a later ``generated_timestamp`` and passes.
    """

    def __init__(self) -> None:
        """Start with no second seen."""
        self.second: int | None = None
        self.ids: set[int] = set()

    def is_new(self, ticket: t.Mapping[str, t.Any]) -> bool:
        """Tell whether this ticket version was not emitted yet in this run."""
        second = ticket["generated_timestamp"]
        ticket_id = ticket["id"]
        if second == self.second:
            if ticket_id in self.ids:
                return False
            self.ids.add(ticket_id)
            return True
        if self.second is None or second > self.second:
            self.second = second
            self.ids = {ticket_id}
        return True
