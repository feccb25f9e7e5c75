"""Zendesk's error responses, as exceptions the request handlers raise."""

from __future__ import annotations

from http import HTTPStatus

FORBIDDEN_BODY = {
    "error": {
        "title": "Forbidden",
        "message": (
            "You do not have access to this page. Please contact the account owner "
            "of this help desk for further help."
        ),
    }
}
UNAUTHENTICATED_BODY = {"error": "Couldn't authenticate you"}
INVALID_TOKEN_BODY = {
    "error": "invalid_token",
    "error_description": (
        "The access token provided is expired, revoked, malformed or invalid for "
        "other reasons."
    ),
}
NOT_FOUND_BODY = {"error": "InvalidEndpoint", "description": "Not found"}
TOO_RECENT_BODY = {
    "error": "InvalidValue",
    "description": "Too recent start_time. Use a start_time older than 1 minute",
}
RATE_LIMITED_BODY = {
    "error": "APIRateLimitExceeded",
    "description": (
        "Number of allowed incremental export API requests per minute exceeded"
    ),
}


class ApiError(Exception):
    """An error response: HTTP status, JSON body and extra headers."""

    def __init__(
        self,
        status: int,
        body: dict,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Create an error that the server sends as `status` with a JSON `body`."""
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def invalid_value(description: str) -> ApiError:
    """Return a 400 `InvalidValue` error with `description`."""
    return ApiError(400, {"error": "InvalidValue", "description": description})


def envelope_for_status(status: int) -> dict:
    """Return the body Zendesk sends with `status` when nothing more specific fits."""
    bodies = {
        401: UNAUTHENTICATED_BODY,
        403: FORBIDDEN_BODY,
        404: NOT_FOUND_BODY,
        422: {"error": "InvalidValue", "description": "Unprocessable entity"},
        429: RATE_LIMITED_BODY,
    }
    if status in bodies:
        return bodies[status]
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return {"error": phrase.replace(" ", ""), "description": phrase}
