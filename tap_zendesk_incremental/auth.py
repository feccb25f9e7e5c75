"""Authentication for Zendesk requests, sent only to the configured host."""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

import requests

from tap_zendesk_incremental.errors import CredentialsError

#: Zendesk stops accepting API tokens on this date; none can be created since
#: 2026-10-27.
RETIREMENT_DATE = "2027-04-30"
API_TOKEN_WARNING = (
    f"Zendesk stops accepting API tokens on {RETIREMENT_DATE}, and this run uses "
    "`email` + `api_token`. Move to the OAuth client credentials grant: set "
    "`oauth_client_id` and `oauth_client_secret`, then unset `email` and "
    "`api_token`."
)


def origin(url: str) -> tuple[str, str, int | None]:
    """Return the scheme, host and port that identify where a URL points."""
    parts = urlsplit(url)
    default_port = {"http": 80, "https": 443}.get(parts.scheme)
    return (parts.scheme, (parts.hostname or "").lower(), parts.port or default_port)


class ZendeskAuth(requests.auth.AuthBase):
    """Base of the authentication methods: adds credentials for one host only.

    A request for any other host, such as one named by a ``next_page`` link or a
    redirect, raises instead of carrying the credentials away.
    """

    method = "none"
    #: What to change when Zendesk responds with 401 to these credentials.
    rejection_fix = "check the configured credentials"

    def __init__(self, base_url: str) -> None:
        """Bind the credentials to the host of ``base_url``."""
        self._origin = origin(base_url)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Add the Authorization header to a request for the configured host.

        Raises:
            CredentialsError: If the request is for another host.
        """
        if origin(request.url or "") != self._origin:
            host = urlsplit(request.url or "").netloc
            msg = (
                f"Refusing to send Zendesk credentials to {host}, which is not the "
                "configured host: check `subdomain` and `api_url`."
            )
            raise CredentialsError(msg)
        request.headers["Authorization"] = self.authorization()
        return request

    def __repr__(self) -> str:
        """Name the method only, never the credentials."""
        return f"{type(self).__name__}(method={self.method!r})"

    def authorization(self) -> str:
        """Return the Authorization header value."""
        raise NotImplementedError

    def renew(self) -> bool:
        """Get fresh credentials after Zendesk rejected the current ones.

        Returns:
            True when new credentials were obtained and the request is worth one
            more try.
        """
        return False


class APITokenAuth(ZendeskAuth):
    """Basic auth with ``{email}/token`` as user and the API token as password."""

    method = "api_token"
    rejection_fix = (
        "check `email` and `api_token`, or move to `oauth_client_id` + "
        f"`oauth_client_secret` (Zendesk stops accepting API tokens on "
        f"{RETIREMENT_DATE})"
    )

    def __init__(self, base_url: str, email: str, api_token: str) -> None:
        """Encode the Basic credentials once."""
        super().__init__(base_url)
        pair = f"{email}/token:{api_token}".encode()
        self._header = "Basic " + base64.b64encode(pair).decode("ascii")

    def authorization(self) -> str:
        """Return the Basic Authorization header value."""
        return self._header


class BearerTokenAuth(ZendeskAuth):
    """A static OAuth access token, which the tap cannot renew."""

    method = "access_token"
    rejection_fix = (
        "set a new `access_token`, or set `oauth_client_id` + `oauth_client_secret` "
        "instead so that the tap renews its tokens"
    )

    def __init__(self, base_url: str, access_token: str) -> None:
        """Keep the token for the Authorization header."""
        super().__init__(base_url)
        self._header = f"Bearer {access_token}"

    def authorization(self) -> str:
        """Return the Bearer Authorization header value."""
        return self._header
