"""Failures that the fake server injects into incremental export responses."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Literal

from fake_zendesk.common import seeded_random

if TYPE_CHECKING:
    import random
    from collections.abc import Sequence

BodyFormat = Literal["json", "text", "html"]
MalformedKind = Literal[
    "no_tickets",
    "ticket_without_id",
    "ticket_without_generated_timestamp",
    "end_time_not_integer",
]
FaultKind = Literal[
    "status", "reset", "truncated", "slow", "malformed", "too_recent"
]  # fmt: skip
MALFORMED_KINDS = (
    "no_tickets",
    "ticket_without_id",
    "ticket_without_generated_timestamp",
    "end_time_not_integer",
)


@dataclass(frozen=True)
class Fault:
    """One injected failure; build it with the class methods.

    Attributes:
        kind: What goes wrong: an error `status`, a connection `reset`, a
            `truncated` body, a `slow` response, a `malformed` page, or a
            `too_recent` rejection of `start_time`.
        status_code: HTTP status for `status` and `too_recent` faults.
        body: Body format of an error response.
        retry_after: Value of the `Retry-After` header, sent verbatim, or None to
            send no header.
        seconds: Real seconds a `slow` fault waits before responding.
        malformed_kind: Which part of the page a `malformed` fault breaks.
    """

    kind: FaultKind
    status_code: int = 200
    body: BodyFormat = "json"
    retry_after: str | None = None
    seconds: float = 0.0
    malformed_kind: MalformedKind | None = None

    @classmethod
    def status(
        cls, status: int, body: BodyFormat = "json", retry_after: str | None = None
    ) -> Fault:
        """Return a fault that responds with `status` and a JSON, text or HTML body."""
        return cls("status", status_code=status, body=body, retry_after=retry_after)

    @classmethod
    def rate_limited(
        cls, retry_after: str | None = None, body: BodyFormat = "json"
    ) -> Fault:
        """Return a 429 fault; `retry_after` goes into `Retry-After` verbatim."""
        return cls("status", status_code=429, body=body, retry_after=retry_after)

    @classmethod
    def connection_reset(cls) -> Fault:
        """Return a fault that closes the connection without sending a response."""
        return cls("reset", status_code=0)

    @classmethod
    def truncated_body(cls) -> Fault:
        """Return a fault that announces the full page but sends only half of it."""
        return cls("truncated")

    @classmethod
    def slow(cls, seconds: float = 2.0) -> Fault:
        """Return a fault that waits `seconds` real seconds, then responds normally."""
        return cls("slow", seconds=seconds)

    @classmethod
    def malformed(cls, kind: MalformedKind) -> Fault:
        """Return a fault that responds with 200 and one part of the page broken.

        Raises:
            ValueError: If `kind` is not one of `MALFORMED_KINDS`.
        """
        if kind not in MALFORMED_KINDS:
            message = f"unknown malformed kind {kind!r}: use one of {MALFORMED_KINDS}"
            raise ValueError(message)
        return cls("malformed", malformed_kind=kind)

    @classmethod
    def too_recent(cls, status: int = 422) -> Fault:
        """Return a fault that rejects `start_time` as too recent with 422 or 400."""
        return cls("too_recent", status_code=status)

    @property
    def is_retriable(self) -> bool:
        """Whether a client should retry the request after this fault."""
        return self.kind in {"reset", "truncated", "slow"} or (
            self.kind == "status"
            and (
                self.status_code == HTTPStatus.TOO_MANY_REQUESTS
                or self.status_code >= HTTPStatus.INTERNAL_SERVER_ERROR
            )
        )


# The mix for `FaultQueue.random`: every kind a client is expected to retry. Waits
# are short so that soak tests on a real clock stay fast.
RETRIABLE_FAULTS: tuple[Fault, ...] = (
    Fault.rate_limited(retry_after="1"),
    Fault.rate_limited(retry_after=None),
    Fault.rate_limited(retry_after="1, 2"),
    Fault.rate_limited(retry_after="1", body="text"),
    Fault.status(500),
    Fault.status(500, body="html"),
    Fault.status(502),
    Fault.status(502, body="html"),
    Fault.status(503),
    Fault.status(503, body="html", retry_after="1"),
    Fault.status(504),
    Fault.status(504, body="html"),
    Fault.connection_reset(),
    Fault.truncated_body(),
)


class FaultQueue:
    """Faults waiting for the next export requests, plus optional random faults.

    Queued faults are served first, one per export request, in order. When the
    queue is empty and `random` was called, each request gets a fault with the
    configured probability. Thread-safe.
    """

    def __init__(self) -> None:
        """Create an empty queue with random faults off."""
        self._lock = threading.Lock()
        self._queue: deque[Fault] = deque()
        self._rng: random.Random | None = None
        self._rate = 0.0
        self._kinds: tuple[Fault, ...] = RETRIABLE_FAULTS

    def enqueue(self, *faults: Fault) -> None:
        """Serve `faults` to the next export requests, one each, in order."""
        with self._lock:
            self._queue.extend(faults)

    def random(
        self, rate: float, seed: int = 0, kinds: Sequence[Fault] | None = None
    ) -> None:
        """Inject a random fault into about `rate` of export requests.

        Args:
            rate: Probability from 0 to 1 that a request gets a fault; 0 turns
                random faults off.
            seed: Seed that makes the sequence of faults repeatable.
            kinds: Faults to draw from (default: `RETRIABLE_FAULTS`).

        Raises:
            ValueError: If `rate` is outside 0 to 1 or `kinds` is empty.
        """
        if not 0 <= rate <= 1:
            message = f"fault rate must be between 0 and 1, got {rate}"
            raise ValueError(message)
        chosen = tuple(RETRIABLE_FAULTS if kinds is None else kinds)
        if not chosen:
            message = "kinds must contain at least one fault"
            raise ValueError(message)
        with self._lock:
            self._rng = seeded_random(seed)
            self._rate = rate
            self._kinds = chosen

    def clear(self) -> None:
        """Drop queued faults and turn random faults off."""
        with self._lock:
            self._queue.clear()
            self._rng = None
            self._rate = 0.0

    def pending(self) -> int:
        """Return the number of queued faults not yet served."""
        with self._lock:
            return len(self._queue)

    def take(self) -> Fault | None:
        """Return the fault for the current export request, or None."""
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            if self._rng is None or self._rng.random() >= self._rate:
                return None
            return self._rng.choice(self._kinds)
