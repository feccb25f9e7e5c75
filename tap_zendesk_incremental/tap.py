"""The tap: its settings, its streams, and how a run fails."""

from __future__ import annotations

import logging
import os
import sys
import typing as t

from singer_sdk import Stream, Tap
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import (
    CapabilitiesEnum,
    PluginCapabilities,
    TapCapabilities,
)
from typing_extensions import override

from tap_zendesk_incremental import settings
from tap_zendesk_incremental.errors import (
    OutputClosedError,
    RunStoppedError,
    ZendeskTapError,
)
from tap_zendesk_incremental.output import BufferedSingerWriter
from tap_zendesk_incremental.sideloads import SIDELOAD_STREAM_TYPES
from tap_zendesk_incremental.streams import TicketsStream
from tap_zendesk_incremental.ticket_fields import TicketFieldsStream

if t.TYPE_CHECKING:
    from types import FrameType

    from tap_zendesk_incremental.auth import ZendeskAuth
    from tap_zendesk_incremental.pacing import RequestPacer

UNHANDLED_ERROR_PREFIX = "An unhandled error occurred while syncing"


class _ReportedErrorFilter(logging.Filter):
    """Drops the SDK's generic sync error line for errors the tap reports itself.

    The tap logs a :class:`ZendeskTapError` as one ERROR line naming the cause and
    the fix. The SDK's extra line would only repeat that the sync failed.
    """

    @override
    def filter(self, record: logging.LogRecord) -> bool:
        current = sys.exc_info()[1]
        return not (
            isinstance(current, ZendeskTapError)
            and str(record.msg).startswith(UNHANDLED_ERROR_PREFIX)
        )


class TapZendeskIncremental(Tap):
    """Singer tap for Zendesk Support tickets from the Incremental Ticket Export."""

    name = "tap-zendesk-incremental"
    config_jsonschema = settings.CONFIG_SCHEMA
    message_writer_class = BufferedSingerWriter
    capabilities: t.ClassVar[list[CapabilitiesEnum]] = [
        TapCapabilities.CATALOG,
        TapCapabilities.STATE,
        TapCapabilities.DISCOVER,
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.STRUCTURED_LOGGING,
    ]

    #: Shared by every stream of the run, created by the first stream that needs it.
    pacer: RequestPacer | None = None
    zendesk_auth: ZendeskAuth | None = None

    @override
    def discover_streams(self) -> list[Stream]:
        sideload_streams = [stream_type(self) for stream_type in SIDELOAD_STREAM_TYPES]
        return [TicketsStream(self), TicketFieldsStream(self), *sideload_streams]

    @override
    def load_streams(self) -> list[Stream]:
        """Order the streams by name, but with ``tickets`` first.

        The SDK syncs streams in this order; the export comes first so that a
        failure of another endpoint cannot hold back the tickets.
        """
        streams = super().load_streams()
        return sorted(streams, key=lambda stream: stream.name != TicketsStream.name)

    @override
    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """Check the settings with messages that name each value and never a secret.

        Raises:
            ConfigValidationError: If a setting is invalid and ``raise_errors``.
        """
        errors = settings.validate_config(self.config)
        if errors and raise_errors:
            raise ConfigValidationError(
                "Config validation failed", errors=errors, schema={}
            )
        if errors:
            for error in errors:
                self.logger.warning(error)
            return errors
        return super()._validate_config(raise_errors=raise_errors)

    @override
    @classmethod
    def invoke(cls, **kwargs: t.Any) -> None:  # type: ignore[override]
        """Run the tap; a known failure ends with one ERROR line and non-zero exit."""
        reported = _ReportedErrorFilter()
        # The SDK logs that line from the stream's child logger, whose records never
        # pass a filter on the tap's logger, so the filter goes on the root handlers.
        for handler in logging.getLogger().handlers:
            handler.addFilter(reported)
        try:
            super().invoke(**kwargs)
        except ConfigValidationError as exc:
            # One line per invalid setting, without the SDK's extra summary line.
            for error in exc.errors:
                cls.logger.error("%s", error)  # noqa: TRY400
            sys.exit(1)
        except ZendeskTapError as exc:
            cls.logger.error("%s", exc)  # noqa: TRY400
            if isinstance(exc, OutputClosedError):
                # Python would fail again flushing stdout at exit.
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            sys.exit(getattr(exc, "exit_status", 1))

    @override
    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        """Stop at the next point where the output is whole, not in the handler.

        The SDK's handler writes a STATE message and exits from inside the signal
        handler, which can interrupt a write to stdout halfway through a line.
        """
        self.logger.info("Received signal %d; stopping after the current step", signum)
        if self.pacer is None:
            raise RunStoppedError(signum)
        self.pacer.request_stop(signum)


if __name__ == "__main__":
    TapZendeskIncremental.cli()
