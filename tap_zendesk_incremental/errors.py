"""Errors that stop a run with one line naming the cause and the fix."""

from __future__ import annotations

import signal


class ZendeskTapError(Exception):
    """A failure the user can act on; the tap logs its message as one ERROR line."""


class ZendeskAPIError(ZendeskTapError):
    """Zendesk returned an error that retrying cannot fix."""


class ExportShapeError(ZendeskTapError):
    """A response that is not the documented shape of the export."""


class InvalidStateError(ZendeskTapError):
    """A bookmark in the input state that the tap cannot resume from."""


class CredentialsError(ZendeskTapError):
    """Credentials that Zendesk rejected or that could not be obtained."""


class OutputClosedError(ZendeskTapError):
    """The consumer of the tap's standard output closed the pipe."""


class RunStoppedError(ZendeskTapError):
    """A SIGTERM or SIGINT stopped the run at a point where its output is whole."""

    def __init__(self, signum: int) -> None:
        """Name the signal; the process exits with 128 plus its number."""
        name = signal.Signals(signum).name
        super().__init__(
            f"Stopped by {name}. The last STATE message is exact: the next run "
            "resumes from it."
        )
        self.exit_status = 128 + signum
