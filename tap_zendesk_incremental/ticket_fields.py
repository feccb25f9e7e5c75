"""The ticket_fields stream: system and custom ticket field definitions.

Tickets carry custom field values as ``[{"id", "value"}]``. This stream gives
each id its title, type and options, so a query can name the fields.
"""

from __future__ import annotations

import typing as t
from urllib.parse import urljoin, urlsplit

from singer_sdk import typing as th
from typing_extensions import override

from tap_zendesk_incremental.auth import origin
from tap_zendesk_incremental.client import ZendeskStream
from tap_zendesk_incremental.errors import ExportShapeError
from tap_zendesk_incremental.export import is_int
from tap_zendesk_incremental.responses import safe_url
from tap_zendesk_incremental.schemas import ANY_OBJECT, ID, open_schema

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from singer_sdk.helpers.types import Context

#: Fields per page. Per Zendesk's API reference (Pagination), most endpoints
#: accept a ``page[size]`` of at most 100.
PAGE_SIZE = 100

CUSTOM_FIELD_OPTION = th.ObjectType(
    th.Property("id", ID),
    th.Property("url", th.StringType),
    th.Property("name", th.StringType),
    th.Property("raw_name", th.StringType),
    th.Property("value", th.StringType),
    th.Property("position", th.IntegerType),
    th.Property("default", th.BooleanType),
    additional_properties=True,
)

SYSTEM_FIELD_OPTION = th.ObjectType(
    th.Property("name", th.StringType),
    th.Property("value", th.StringType),
    additional_properties=True,
)

#: A custom ticket status, listed on the system field of type ``custom_status``.
CUSTOM_STATUS = th.ObjectType(
    th.Property("id", ID),
    th.Property("url", th.StringType),
    th.Property("status_category", th.StringType),
    th.Property("agent_label", th.StringType),
    th.Property("raw_agent_label", th.StringType),
    th.Property("end_user_label", th.StringType),
    th.Property("raw_end_user_label", th.StringType),
    th.Property("description", th.StringType),
    th.Property("raw_description", th.StringType),
    th.Property("end_user_description", th.StringType),
    th.Property("raw_end_user_description", th.StringType),
    th.Property("active", th.BooleanType),
    th.Property("default", th.BooleanType),
    th.Property("created_at", th.DateTimeType),
    th.Property("updated_at", th.DateTimeType),
    additional_properties=True,
)

TICKET_FIELD = open_schema(
    th.PropertiesList(
        th.Property("id", ID, required=True),
        th.Property("url", th.StringType),
        th.Property("type", th.StringType),
        th.Property("key", th.StringType),
        th.Property("title", th.StringType),
        th.Property("raw_title", th.StringType),
        th.Property("description", th.StringType),
        th.Property("raw_description", th.StringType),
        th.Property("agent_description", th.StringType),
        th.Property("position", th.IntegerType),
        th.Property("active", th.BooleanType),
        th.Property("required", th.BooleanType),
        th.Property("removable", th.BooleanType),
        th.Property("collapsed_for_agents", th.BooleanType),
        th.Property("agent_can_edit", th.BooleanType),
        th.Property("regexp_for_validation", th.StringType),
        th.Property("title_in_portal", th.StringType),
        th.Property("raw_title_in_portal", th.StringType),
        th.Property("visible_in_portal", th.BooleanType),
        th.Property("editable_in_portal", th.BooleanType),
        th.Property("required_in_portal", th.BooleanType),
        th.Property("tag", th.StringType),
        th.Property("sub_type_id", th.IntegerType),
        th.Property("creator_user_id", th.IntegerType),
        th.Property("creator_app_name", th.StringType),
        th.Property("active_forms_count", th.IntegerType),
        th.Property("relationship_target_type", th.StringType),
        th.Property("relationship_filter", ANY_OBJECT),
        th.Property("custom_field_options", th.ArrayType(CUSTOM_FIELD_OPTION)),
        th.Property("system_field_options", th.ArrayType(SYSTEM_FIELD_OPTION)),
        th.Property("custom_statuses", th.ArrayType(CUSTOM_STATUS)),
        th.Property("created_at", th.DateTimeType),
        th.Property("updated_at", th.DateTimeType),
    )
)


class TicketFieldsStream(ZendeskStream):
    """Every ticket field of the account, read in full on each run.

    ``GET /api/v2/ticket_fields`` with cursor pagination: one request per 100
    fields, through the same pacing and retries as the export. Not selected
    unless the catalog selects it, so a run without a catalog reads only the
    export.
    """

    name = "ticket_fields"
    path = "/api/v2/ticket_fields"
    primary_keys: t.ClassVar[list[str]] = ["id"]
    replication_key = None
    schema = TICKET_FIELD
    selected_by_default = False

    @override
    def get_records(self, context: Context | None) -> Iterator[dict]:
        url = self.url_base + self.path
        params: dict | None = {"page[size]": PAGE_SIZE}
        seen_urls: set[str] = set()
        while True:
            body = self.fetch_json(url, params)
            yield from self.page_fields(body, url)

            next_url = self.next_page_url(body, url)
            if next_url is None:
                return
            if next_url in seen_urls:
                msg = (
                    f"Zendesk's ticket fields link {safe_url(next_url)} repeats an "
                    "earlier page; stopping rather than looping."
                )
                raise ExportShapeError(msg)
            seen_urls.add(next_url)
            url, params = next_url, None

    def page_fields(self, body: dict, url: str) -> list[dict]:
        """Return the ticket fields of one page.

        Raises:
            ExportShapeError: If ``ticket_fields`` is not an array of objects with
                integer ids.
        """
        fields = body.get("ticket_fields")
        if not isinstance(fields, list):
            msg = (
                f"Zendesk's answer to {safe_url(url)} has no `ticket_fields` array; "
                "stopping rather than skipping fields."
            )
            raise ExportShapeError(msg)
        for index, field in enumerate(fields):
            if not isinstance(field, dict) or not is_int(field.get("id")):
                msg = (
                    f"Ticket field {index} in Zendesk's answer to {safe_url(url)} "
                    "has no integer `id`; stopping rather than skipping it."
                )
                raise ExportShapeError(msg)
        return fields

    def next_page_url(self, body: dict, url: str) -> str | None:
        """Return the URL of the page after ``body``, or None after the last page.

        Follows ``links.next`` while ``meta.has_more`` is true (cursor
        pagination). A response in offset pagination, without ``meta``, names its
        next page in ``next_page``, null on the last page.

        Raises:
            ExportShapeError: If more pages are announced without a link, or the
                link points away from the configured host.
        """
        meta = body.get("meta")
        if isinstance(meta, dict):
            if meta.get("has_more") is not True:
                return None
            links = body.get("links")
            next_url = links.get("next") if isinstance(links, dict) else None
            if not isinstance(next_url, str) or not next_url:
                msg = (
                    f"Zendesk's answer to {safe_url(url)} sets `meta.has_more` but "
                    "has no `links.next`; stopping rather than skipping fields."
                )
                raise ExportShapeError(msg)
        else:
            next_url = body.get("next_page")
            if not isinstance(next_url, str) or not next_url:
                return None
        next_url = urljoin(url, next_url)
        if origin(next_url) != origin(self.url_base):
            msg = (
                f"Zendesk's ticket fields link points at {urlsplit(next_url).netloc}, "
                f"not the configured host {urlsplit(self.url_base).netloc}; stopping "
                "without sending credentials there. Check `subdomain` and `api_url`."
            )
            raise ExportShapeError(msg)
        return next_url
