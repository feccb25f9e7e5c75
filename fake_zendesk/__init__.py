"""A local, Zendesk-compatible server for the incremental ticket export API.

It serves generated tickets through the time-based and cursor-based exports with
Zendesk's documented paging, authentication, rate limits and error responses, and
can inject faults. Tests, benchmarks and the demo run against it instead of a real
Zendesk account.
"""

from fake_zendesk.account import Account
from fake_zendesk.clock import Clock, RealClock, VirtualClock
from fake_zendesk.faults import RETRIABLE_FAULTS, Fault, FaultQueue
from fake_zendesk.server import FakeZendesk, RecordedRequest

__all__ = [
    "RETRIABLE_FAULTS",
    "Account",
    "Clock",
    "FakeZendesk",
    "Fault",
    "FaultQueue",
    "RealClock",
    "RecordedRequest",
    "VirtualClock",
]
