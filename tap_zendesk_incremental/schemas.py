"""JSON Schemas of the tap's streams.

Zendesk ids exceed 2**31, so every id is an unbounded ``integer``; targets map it
to BIGINT. Fields whose shape varies between tickets keep every documented shape.
"""

from __future__ import annotations

from singer_sdk import typing as th

ID = th.IntegerType
IDS = th.ArrayType(th.IntegerType)
STRINGS = th.ArrayType(th.StringType)
ANY_OBJECT = th.ObjectType(additional_properties=True)

#: A custom field value: text, a number sent as text, a multi-select list, a
#: checkbox, a ``YYYY-MM-DD`` date, or null. A type list, not ``anyOf``, because
#: singer-sdk 0.54 appends the bare string "null" to the ``anyOf`` of an optional
#: property, which is invalid JSON Schema and makes target-postgres reject it.
CUSTOM_FIELD_VALUE = th.CustomType(
    {
        "type": ["string", "array", "boolean", "number", "null"],
        "items": {"type": ["string", "null"]},
    }
)

CUSTOM_FIELDS = th.ArrayType(
    th.ObjectType(
        th.Property("id", ID),
        th.Property("value", CUSTOM_FIELD_VALUE),
        additional_properties=True,
    )
)

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

#: How the ticket was created. ``channel`` is usually a name and sometimes a
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

TICKET = th.PropertiesList(
    th.Property("id", ID, required=True),
    th.Property("generated_timestamp", th.IntegerType, required=True),
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
).to_dict()
