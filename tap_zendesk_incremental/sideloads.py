"""Streams of the objects that Zendesk sideloads into the ticket export pages.

``include=users,groups,organizations,brands,metric_sets`` adds one top-level array
per sideload to every export response, containing the objects that the page's tickets
refer to. Each sideload is a stream of its own, fed by the tickets stream from the
same responses: it costs no request. The same user comes back on every page with
one of its tickets, so each stream writes an object only when its version
(``updated_at``, or a hash of the object without it) was not written yet in the run.
"""

from __future__ import annotations

import hashlib
import typing as t

import msgspec
from singer_sdk import typing as th
from singer_sdk.singerlib.catalog import REPLICATION_INCREMENTAL
from typing_extensions import override

from tap_zendesk_incremental.client import ZendeskStream
from tap_zendesk_incremental.errors import ExportShapeError
from tap_zendesk_incremental.export import is_int
from tap_zendesk_incremental.schemas import ANY_OBJECT, ID, IDS, STRINGS, open_schema
from tap_zendesk_incremental.streams import TicketsStream

if t.TYPE_CHECKING:
    import datetime
    from collections.abc import Iterable

    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context, Record

#: A file attached to an object, such as a user's photo or a brand's logo.
#: ``width`` and ``height`` are strings in Zendesk's API description and may be
#: integers, so both are accepted.
ATTACHMENT = th.ObjectType(
    th.Property("id", ID),
    th.Property("url", th.StringType),
    th.Property("file_name", th.StringType),
    th.Property("content_url", th.StringType),
    th.Property("mapped_content_url", th.StringType),
    th.Property("content_type", th.StringType),
    th.Property("size", th.IntegerType),
    th.Property("width", th.CustomType({"type": ["integer", "string", "null"]})),
    th.Property("height", th.CustomType({"type": ["integer", "string", "null"]})),
    th.Property("inline", th.BooleanType),
    th.Property("deleted", th.BooleanType),
    th.Property("malware_access_override", th.BooleanType),
    th.Property("malware_scan_result", th.StringType),
    th.Property("thumbnails", th.ArrayType(ANY_OBJECT)),
    additional_properties=True,
)

USER = open_schema(
    th.PropertiesList(
        th.Property("id", ID, required=True),
        th.Property("url", th.StringType),
        th.Property("name", th.StringType),
        th.Property("email", th.StringType),
        th.Property("created_at", th.DateTimeType),
        th.Property("updated_at", th.DateTimeType),
        th.Property("time_zone", th.StringType),
        th.Property("iana_time_zone", th.StringType),
        th.Property("phone", th.StringType),
        th.Property("shared_phone_number", th.BooleanType),
        th.Property("photo", ATTACHMENT),
        th.Property("remote_photo_url", th.StringType),
        th.Property("locale_id", th.IntegerType),
        th.Property("locale", th.StringType),
        th.Property("organization_id", ID),
        th.Property("role", th.StringType),
        th.Property("role_type", th.IntegerType),
        th.Property("custom_role_id", ID),
        th.Property("verified", th.BooleanType),
        th.Property("external_id", th.StringType),
        th.Property("tags", STRINGS),
        th.Property("alias", th.StringType),
        th.Property("active", th.BooleanType),
        th.Property("shared", th.BooleanType),
        th.Property("shared_agent", th.BooleanType),
        th.Property("last_login_at", th.DateTimeType),
        th.Property("two_factor_auth_enabled", th.BooleanType),
        th.Property("signature", th.StringType),
        th.Property("details", th.StringType),
        th.Property("notes", th.StringType),
        th.Property("moderator", th.BooleanType),
        th.Property("ticket_restriction", th.StringType),
        th.Property("only_private_comments", th.BooleanType),
        th.Property("restricted_agent", th.BooleanType),
        th.Property("suspended", th.BooleanType),
        th.Property("chat_only", th.BooleanType),
        th.Property("default_group_id", ID),
        th.Property("report_csv", th.BooleanType),
        th.Property("user_fields", ANY_OBJECT),
        th.Property("agent_brand_ids", IDS),
    )
)

GROUP = open_schema(
    th.PropertiesList(
        th.Property("id", ID, required=True),
        th.Property("url", th.StringType),
        th.Property("name", th.StringType),
        th.Property("description", th.StringType),
        th.Property("default", th.BooleanType),
        th.Property("deleted", th.BooleanType),
        th.Property("is_public", th.BooleanType),
        th.Property("created_at", th.DateTimeType),
        th.Property("updated_at", th.DateTimeType),
    )
)

ORGANIZATION = open_schema(
    th.PropertiesList(
        th.Property("id", ID, required=True),
        th.Property("url", th.StringType),
        th.Property("name", th.StringType),
        th.Property("shared_tickets", th.BooleanType),
        th.Property("shared_comments", th.BooleanType),
        th.Property("external_id", th.StringType),
        th.Property("created_at", th.DateTimeType),
        th.Property("updated_at", th.DateTimeType),
        th.Property("domain_names", STRINGS),
        th.Property("details", th.StringType),
        th.Property("notes", th.StringType),
        th.Property("group_id", ID),
        th.Property("tags", STRINGS),
        th.Property("organization_fields", ANY_OBJECT),
    )
)

BRAND = open_schema(
    th.PropertiesList(
        th.Property("id", ID, required=True),
        th.Property("url", th.StringType),
        th.Property("name", th.StringType),
        th.Property("brand_url", th.StringType),
        th.Property("subdomain", th.StringType),
        th.Property("host_mapping", th.StringType),
        th.Property("has_help_center", th.BooleanType),
        th.Property("help_center_state", th.StringType),
        th.Property("active", th.BooleanType),
        th.Property("default", th.BooleanType),
        th.Property("is_deleted", th.BooleanType),
        th.Property("logo", ATTACHMENT),
        th.Property("ticket_form_ids", IDS),
        th.Property("signature_template", th.StringType),
        th.Property("created_at", th.DateTimeType),
        th.Property("updated_at", th.DateTimeType),
    )
)

#: A duration in whole minutes, counted over all hours and over business hours.
MINUTES = th.ObjectType(
    th.Property("calendar", th.IntegerType),
    th.Property("business", th.IntegerType),
    additional_properties=True,
)

TICKET_METRIC = open_schema(
    th.PropertiesList(
        th.Property("id", ID, required=True),
        th.Property("url", th.StringType),
        th.Property("ticket_id", ID),
        th.Property("created_at", th.DateTimeType),
        th.Property("updated_at", th.DateTimeType),
        th.Property("group_stations", th.IntegerType),
        th.Property("assignee_stations", th.IntegerType),
        th.Property("reopens", th.IntegerType),
        th.Property("replies", th.IntegerType),
        th.Property("assignee_updated_at", th.DateTimeType),
        th.Property("requester_updated_at", th.DateTimeType),
        th.Property("status_updated_at", th.DateTimeType),
        th.Property("custom_status_updated_at", th.DateTimeType),
        th.Property("initially_assigned_at", th.DateTimeType),
        th.Property("assigned_at", th.DateTimeType),
        th.Property("solved_at", th.DateTimeType),
        th.Property("latest_comment_added_at", th.DateTimeType),
        th.Property("reply_time_in_minutes", MINUTES),
        th.Property(
            "reply_time_in_seconds",
            th.ObjectType(
                th.Property("calendar", th.IntegerType), additional_properties=True
            ),
        ),
        th.Property("first_resolution_time_in_minutes", MINUTES),
        th.Property("full_resolution_time_in_minutes", MINUTES),
        th.Property("agent_wait_time_in_minutes", MINUTES),
        th.Property("requester_wait_time_in_minutes", MINUTES),
        th.Property("on_hold_time_in_minutes", MINUTES),
    )
)


class SideloadStream(ZendeskStream):
    """Objects of one sideload, written by the tickets stream from its pages.

    A child of the tickets stream, so that selecting only this stream still runs
    the export. The tickets stream requests the sideload of every selected
    sideload stream. Without a catalog, the streams named in the ``sideloads``
    setting are selected.

    The bookmark is the export position of the tickets stream, written in the
    same STATE message as the tickets bookmark after each page. Objects come
    before the tickets of their page, so a run stopped between pages loses none.
    """

    parent_stream_type = TicketsStream
    primary_keys: t.ClassVar[list[str]] = ["id"]

    #: The value of the export's ``include`` parameter and of the array's key.
    sideload: t.ClassVar[str]

    #: The (id, version) of every object written in this run.
    written: set[tuple[int, str | bytes]]
    missing_logged: bool

    def __init__(self, tap: Tap) -> None:
        """Create the stream, replicated incrementally through the ticket export.

        The records have no replication key: the bookmark is the export position.
        """
        super().__init__(tap)
        self.forced_replication_method = REPLICATION_INCREMENTAL

    @override
    @property
    def selected_by_default(self) -> bool:  # type: ignore[override]
        return self.sideload in (self.config.get("sideloads") or ())

    @override
    def get_records(self, context: Context | None) -> Iterable[Record]:
        """Yield nothing: the tickets stream writes this stream's records."""
        return ()

    def start_export(self) -> None:
        """Write the SCHEMA message before the export's first request."""
        self.written = set()
        self.missing_logged = False
        self._write_schema_message()
        self.logger.info(
            "Stream '%s' takes the `%s` sideload of each export page",
            self.name,
            self.sideload,
        )

    def write_sideload(
        self, body: dict, extracted_at: datetime.datetime | None
    ) -> None:
        """Write the objects of one export response not yet written in this run.

        Raises:
            ExportShapeError: If the sideload is not an array of objects with
                integer ids.
        """
        objects = body.get(self.sideload)
        if objects is None:
            self.log_missing(body)
            return
        if not isinstance(objects, list):
            msg = (
                f"Zendesk's `{self.sideload}` sideload is a "
                f"{type(objects).__name__}, not an array; stopping rather than "
                "skipping it."
            )
            raise ExportShapeError(msg)

        self.extracted_at = extracted_at
        for index, item in enumerate(objects):
            key = self.version_key(item, index)
            if key in self.written:
                continue
            self.written.add(key)
            self._write_record_message(item)

    def version_key(self, item: object, index: int) -> tuple[int, str | bytes]:
        """Identify one version of a sideloaded object: its id and updated_at.

        Objects without ``updated_at`` are distinguished by a hash of their JSON.

        Raises:
            ExportShapeError: If the item is not an object with an integer id.
        """
        if not isinstance(item, dict) or not is_int(item.get("id")):
            msg = (
                f"Item {index} of Zendesk's `{self.sideload}` sideload has no "
                "integer `id`; stopping rather than skipping it."
            )
            raise ExportShapeError(msg)
        updated_at = item.get("updated_at")
        if isinstance(updated_at, str):
            return (item["id"], updated_at)
        encoded = msgspec.json.encode(item, order="sorted")
        return (item["id"], hashlib.blake2b(encoded, digest_size=16).digest())

    def log_missing(self, body: dict) -> None:
        """Warn once per run about pages with tickets but without this sideload."""
        if self.missing_logged or not body.get("tickets"):
            return
        self.missing_logged = True
        self.logger.warning(
            "Zendesk sent an export page without the `%s` sideload although the "
            "request included it; stream '%s' gets no records from such pages.",
            self.sideload,
            self.name,
        )


class UsersStream(SideloadStream):
    """Users that the exported tickets refer to, such as requesters and assignees."""

    name = "users"
    sideload = "users"
    schema = USER


class GroupsStream(SideloadStream):
    """Groups of the exported tickets."""

    name = "groups"
    sideload = "groups"
    schema = GROUP


class OrganizationsStream(SideloadStream):
    """Organizations of the exported tickets."""

    name = "organizations"
    sideload = "organizations"
    schema = ORGANIZATION


class BrandsStream(SideloadStream):
    """Brands of the exported tickets."""

    name = "brands"
    sideload = "brands"
    schema = BRAND


class TicketMetricsStream(SideloadStream):
    """Ticket metric sets from the ``metric_sets`` sideload, one per ticket."""

    name = "ticket_metrics"
    sideload = "metric_sets"
    schema = TICKET_METRIC


SIDELOAD_STREAM_TYPES: tuple[type[SideloadStream], ...] = (
    UsersStream,
    GroupsStream,
    OrganizationsStream,
    BrandsStream,
    TicketMetricsStream,
)
