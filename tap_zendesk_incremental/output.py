"""Singer message writer: msgspec encoding, flushed at every STATE message."""

from __future__ import annotations

import datetime
import json
import sys
import typing as t

import msgspec
from singer_sdk.singerlib.encoding.base import GenericSingerWriter
from singer_sdk.singerlib.messages import Message, RecordMessage, SingerMessageType
from typing_extensions import override

from tap_zendesk_incremental.errors import OutputClosedError

#: Bytes buffered before a write to stdout even without a STATE message.
FLUSH_BYTES = 1 << 20


def _encode_other(value: object) -> object:
    return str(value)


def _encode_for_json(value: object) -> object:
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return str(value)


_encoder = msgspec.json.Encoder(enc_hook=_encode_other, decimal_format="number")


def encode_into(payload: dict[str, t.Any], buffer: bytearray) -> None:
    r"""Append the JSON of ``payload`` to ``buffer``.

    Text with a lone UTF-16 surrogate, which Zendesk's JSON can carry as an escape
    such as ``\ud800``, cannot be UTF-8; the standard library writes it back as
    the same escape.
    """
    start = len(buffer)
    try:
        _encoder.encode_into(payload, buffer, start)
    except UnicodeEncodeError:
        del buffer[start:]
        buffer += json.dumps(payload, default=_encode_for_json).encode("ascii")


def record_payload(
    stream: str,
    record: dict,
    version: int | None,
    time_extracted: datetime.datetime | None,
) -> dict[str, t.Any]:
    """Build the JSON object of a RECORD message around ``record``, not copying it.

    ``dataclasses.asdict`` on a RecordMessage would deep-copy every record.
    """
    payload: dict[str, t.Any] = {"type": "RECORD", "stream": stream, "record": record}
    if version is not None:
        payload["version"] = version
    if time_extracted is not None:
        payload["time_extracted"] = time_extracted
    return payload


class BufferedSingerWriter(GenericSingerWriter[bytes, Message]):
    """Writes messages to stdout in large writes, flushing at each STATE message.

    A STATE message and every RECORD before it reach stdout together, so a
    process killed at any moment never leaves a STATE ahead of its records.
    """

    def __init__(self) -> None:
        """Start with an empty buffer."""
        self._buffer = bytearray()

    @override
    def serialize_message(self, message: Message) -> bytes:
        if isinstance(message, RecordMessage):
            payload = record_payload(
                message.stream,
                message.record,
                message.version,
                message.time_extracted,
            )
        else:
            payload = message.to_dict()
        encoded = bytearray()
        encode_into(payload, encoded)
        return bytes(encoded)

    @override
    def write_message(self, message: Message) -> None:
        self._buffer += self.serialize_message(message)
        self._buffer += b"\n"
        if message.type != SingerMessageType.RECORD or len(self._buffer) > FLUSH_BYTES:
            self.flush()

    def write_record(
        self,
        stream: str,
        record: dict,
        version: int | None,
        time_extracted: datetime.datetime | None,
    ) -> None:
        """Buffer a RECORD message without building a RecordMessage first.

        The bytes are those that ``write_message`` writes for the same message.
        """
        payload = record_payload(stream, record, version, time_extracted)
        encode_into(payload, self._buffer)
        self._buffer += b"\n"
        if len(self._buffer) > FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        """Write the buffered messages to stdout.

        Raises:
            OutputClosedError: If the reader of stdout closed the pipe.
        """
        data, self._buffer = self._buffer, bytearray()
        try:
            if data:
                sys.stdout.buffer.write(data)
            sys.stdout.flush()
        except BrokenPipeError:
            msg = (
                "The program reading the tap's output closed the pipe; stopping. "
                "The last STATE it received is exact."
            )
            raise OutputClosedError(msg) from None
