"""The original API sample of the time-based export, parsed by the tap."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft202012Validator

from tap_zendesk_incremental.export import ExportPage
from tap_zendesk_incremental.schemas import TICKET

SAMPLE = Path(__file__).parent / "data" / "incremental_ticket_export_sample.txt"

# Values for the sample's type placeholders, as a real account would send them.
PLACEHOLDERS = {
    "<integer>": 36028797018963970,
    "<boolean>": True,
    "<dateTime>": "2025-03-14T09:26:53Z",
    "<string>": 'Printer on fire \u2014 "urgent"',
    "<email>": "customer@example.com",
    "<array>": [],
}
INTEGER_ARRAYS = {
    "collaborator_ids",
    "email_cc_ids",
    "follower_ids",
    "followup_ids",
    "macro_ids",
    "sharing_agreement_ids",
}
STRING_ARRAYS = {"tags", "attribute_value_ids"}


def sample_page() -> dict:
    """Extract the sample response from the commented block of the sample file."""
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    start = lines.index("# {")
    block = []
    for line in lines[start:]:
        if not line.startswith("#"):
            break
        block.append(line[2:] if line.startswith("# ") else line[1:])
    text = "\n".join(block)
    end = text.rindex("]") + 1
    return json.loads(text[:end] + "\n}")


def realistic(page: dict) -> dict:
    """Replace placeholders with typed values, keeping the sample's structure."""

    def fill(key: str, value: object) -> object:
        if isinstance(value, dict):
            return {k: fill(k, v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(key, v) for v in value]
        if value == "<array>":
            if key in INTEGER_ARRAYS:
                return [36028797018963971, 36028797018963972]
            if key in STRING_ARRAYS:
                return ["vip", "billing"]
            return []
        return PLACEHOLDERS.get(value, value) if isinstance(value, str) else value

    filled = {k: fill(k, v) for k, v in page.items()}
    for index, ticket in enumerate(filled["tickets"]):
        ticket["id"] = 36028797018963970 + index
        ticket["generated_timestamp"] = 1741944413 + index
        ticket["custom_fields"] = ticket["fields"] = [
            {"id": 360001, "value": "745"},
            {"id": 360002, "value": ["red", "blue"]},
            {"id": 360003, "value": True},
            {"id": 360004, "value": "2025-03-01"},
            {"id": 360005, "value": None},
        ]
    filled["end_time"] = filled["tickets"][-1]["generated_timestamp"]
    filled["end_of_stream"] = True
    return filled


def test_sample_has_two_tickets():
    page = sample_page()

    assert len(page["tickets"]) == 2
    assert set(page) == {"count", "end_of_stream", "end_time", "next_page", "tickets"}


def test_schema_declares_every_sample_field():
    for ticket in sample_page()["tickets"]:
        missing = set(ticket) - set(TICKET["properties"])
        assert missing == set()


def test_sample_page_parsed():
    page = ExportPage.from_json(realistic(sample_page()), "sample", per_page=1000)

    assert [t["id"] for t in page.tickets] == [36028797018963970, 36028797018963971]
    assert page.end_of_stream is True
    assert page.end_time == 1741944414


def test_sample_tickets_validate():
    validator = Draft202012Validator(TICKET)

    for ticket in realistic(sample_page())["tickets"]:
        errors = [e.message for e in validator.iter_errors(ticket)]
        assert errors == []
