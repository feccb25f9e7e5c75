"""JSON Schemas of the tap's streams.

Zendesk ids exceed 2**31: every id is an ``integer`` up to 2**63 - 1, which
targets map to BIGINT (without the ``maximum``, target-duckdb picks HUGEINT).
Fields whose shape varies between tickets keep every documented shape.

Lists are declared as arrays without ``items``, with the item type in their
description, so that SQL targets store each list as one JSON(B) value. Given
``items``, target-postgres makes a PostgreSQL array column instead (``bigint[]``,
``jsonb[]``), which JSON functions cannot read directly.
"""

from __future__ import annotations

from singer_sdk import typing as th

BIGINT_MAX = 2**63 - 1

ID = th.IntegerType(maximum=BIGINT_MAX)
ANY_OBJECT = th.ObjectType(additional_properties=True)


def open_schema(properties: th.PropertiesList) -> dict:
    """Return a stream schema that also admits properties it does not declare.

    Zendesk adds fields over time. Records keep them, untyped, so that a user sees
    them; SQL targets store only the declared columns.
    """
    schema = properties.to_dict()
    schema["additionalProperties"] = True
    return schema


def json_list(items: str) -> th.CustomType:
    """Declare a list stored as one JSON value, naming its items."""
    return th.CustomType(
        {"type": ["array", "null"], "description": f"List of {items}."}
    )


IDS = json_list("integer ids")
STRINGS = json_list("strings")

#: ``custom_fields`` and its copy ``fields``. Each value is text, a number sent as
#: text, a multi-select list of strings, a checkbox boolean, a ``YYYY-MM-DD`` date,
#: or null.
CUSTOM_FIELDS = json_list("objects with an integer `id` and a `value`")

#: ``{"score": "unoffered"}`` or a full rating; null when never offered.
SATISFACTION_RATING = th.ObjectType(
    th.Property("id", ID),
    th.Property("score", th.StringType),
    th.Property("comment", th.StringType),
    th.Property("reason", th.StringType),
    th.Property("reason_id", ID),
    th.Property("reason_code", th.IntegerType),
    additional_properties=True,
)

#: The channel that created the ticket. ``channel`` is usually a name and sometimes a
#: number; ``source.from`` and ``source.to`` differ by channel.
VIA = th.ObjectType(
    th.Property("channel", th.CustomType({"type": ["string", "integer", "null"]})),
    th.Property(
        "source",
        th.ObjectType(
            th.Property("from", ANY_OBJECT),
            th.Property("to", ANY_OBJECT),
            th.Property("rel", th.StringType),
            additional_properties=True,
        ),
    ),
    additional_properties=True,
)

#: Fields that Zendesk documents for writing tickets; responses rarely carry them.
WRITE_ONLY_FIELD = th.CustomType({"type": ["object", "array", "null"]})

TICKET = open_schema(
    th.PropertiesList(
        th.Property("id", ID, required=True),
        th.Property("generated_timestamp", ID, required=True),
        th.Property("url", th.StringType),
        th.Property("external_id", th.StringType),
        th.Property("via", VIA),
        th.Property("created_at", th.DateTimeType),
        th.Property("updated_at", th.DateTimeType),
        th.Property("updated_stamp", th.DateTimeType),
        th.Property("type", th.StringType),
        th.Property("subject", th.StringType),
        th.Property("raw_subject", th.StringType),
        th.Property("description", th.StringType),
        th.Property("priority", th.StringType),
        th.Property("status", th.StringType),
        th.Property("recipient", th.StringType),
        th.Property("requester_id", ID),
        th.Property("submitter_id", ID),
        th.Property("assignee_id", ID),
        th.Property("assignee_email", th.StringType),
        th.Property("organization_id", ID),
        th.Property("group_id", ID),
        th.Property("collaborator_ids", IDS),
        th.Property("follower_ids", IDS),
        th.Property("email_cc_ids", IDS),
        th.Property("forum_topic_id", ID),
        th.Property("problem_id", ID),
        th.Property("has_incidents", th.BooleanType),
        th.Property("is_public", th.BooleanType),
        th.Property("due_at", th.DateTimeType),
        th.Property("tags", STRINGS),
        th.Property("custom_fields", CUSTOM_FIELDS),
        th.Property("fields", CUSTOM_FIELDS),
        th.Property("satisfaction_rating", SATISFACTION_RATING),
        th.Property("sharing_agreement_ids", IDS),
        th.Property("custom_status_id", ID),
        th.Property("followup_ids", IDS),
        th.Property("via_followup_source_id", ID),
        th.Property("via_id", ID),
        th.Property("ticket_form_id", ID),
        th.Property("brand_id", ID),
        th.Property("macro_id", ID),
        th.Property("macro_ids", IDS),
        th.Property("attribute_value_ids", STRINGS),
        th.Property("allow_channelback", th.BooleanType),
        th.Property("allow_attachments", th.BooleanType),
        th.Property("from_messaging_channel", th.BooleanType),
        th.Property("safe_update", th.BooleanType),
        th.Property("encoded_id", th.StringType),
        th.Property("comment_count", th.IntegerType),
        th.Property("dates", ANY_OBJECT),
        th.Property("collaborators", WRITE_ONLY_FIELD),
        th.Property("comment", WRITE_ONLY_FIELD),
        th.Property("email_ccs", WRITE_ONLY_FIELD),
        th.Property("followers", WRITE_ONLY_FIELD),
        th.Property("metadata", WRITE_ONLY_FIELD),
        th.Property("requester", WRITE_ONLY_FIELD),
        th.Property("voice_comment", WRITE_ONLY_FIELD),
    )
)
