"""Errors that stop a run with one line naming the cause and the fix."""

from __future__ import annotations


class ZendeskTapError(Exception):
    """A failure the user can act on; the tap logs its message as one ERROR line."""


class ZendeskAPIError(ZendeskTapError):
    """Zendesk answered with an error that retrying cannot fix."""


class ExportShapeError(ZendeskTapError):
    """A response that is not the documented shape of the export."""


class InvalidStateError(ZendeskTapError):
    """A bookmark in the input state that the tap cannot resume from."""


class CredentialsError(ZendeskTapError):
    """Credentials that Zendesk rejected or that could not be obtained."""
