"""Run the tap with ``python -m tap_zendesk_incremental``."""

from tap_zendesk_incremental.tap import TapZendeskIncremental

TapZendeskIncremental.cli()
