"""OAuth grants for unattended runs: client credentials and rotating refresh tokens.

Access tokens of new Zendesk OAuth clients expire after 30 minutes, while a first
export of a large account runs for hours. The tap therefore renews the token
before it expires, and once more when Zendesk responds to a request with 401.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
import typing as t
from http import HTTPStatus
from pathlib import Path

import requests

from tap_zendesk_incremental import pacing
from tap_zendesk_incremental.auth import ZendeskAuth
from tap_zendesk_incremental.errors import CredentialsError
from tap_zendesk_incremental.responses import parse_retry_after

if t.TYPE_CHECKING:
    from collections.abc import Mapping

TOKEN_PATH = "/oauth/tokens"  # noqa: S105 (a URL path, not a secret)
RENEW_MARGIN_SECONDS = 60.0
TOKEN_TRIES = 3
BACKOFF_MAX_SECONDS = 60.0
_CLIENT_SETTINGS = "`oauth_client_id` and `oauth_client_secret`"


class OAuthAuth(ZendeskAuth):
    """Bearer tokens obtained from ``/oauth/tokens`` on the configured host.

    With a refresh token the tap uses the refresh token grant, otherwise the client
    credentials grant. Zendesk rotates the refresh token on every use and rejects
    the previous one, so each new refresh token is written to ``token_file`` before
    the access token that came with it is used. The client credentials grant
    writes nothing.
    """

    def __init__(  # noqa: PLR0913
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        session: requests.Session,
        timeout: float,
        refresh_token: str | None = None,
        token_file: str | None = None,
        logger: logging.Logger | None = None,
        max_tries: int = TOKEN_TRIES,
    ) -> None:
        """Prepare the grant; no request is sent until the first API request.

        ``token_file`` is used by the refresh token grant only: a refresh token
        stored there wins over ``refresh_token``.

        Raises:
            CredentialsError: If ``token_file`` cannot be read, or its directory
                cannot be created or written.
        """
        super().__init__(base_url)
        self.logger = logger or logging.getLogger(__name__)
        self._token_url = base_url.rstrip("/") + TOKEN_PATH
        self._client_id = client_id
        self._client_secret = client_secret
        self._session = session
        self._timeout = timeout
        self._max_tries = max(max_tries, 1)
        self._token_file = Path(token_file) if token_file and refresh_token else None
        self._refresh_token: str | None = None
        self._refresh_source = "the configured `oauth_refresh_token`"
        if refresh_token:
            self.method = "oauth_refresh_token"
            self.rejection_fix = (
                f"check {_CLIENT_SETTINGS}, and that the OAuth client is still active"
            )
            self._refresh_token = self._load_refresh_token(refresh_token)
        else:
            self.method = "oauth_client_credentials"
            self.rejection_fix = (
                f"check {_CLIENT_SETTINGS}, and that the OAuth client is still "
                "active and allowed the client credentials grant"
            )
            if token_file:
                self.logger.warning(
                    "`oauth_refresh_token_file` is set but `oauth_refresh_token` is "
                    "not: using the client credentials grant, which needs no file"
                )
        self._access_token: str | None = None
        self._expires_at = 0.0
        self._warned_no_file = False

    def authorization(self) -> str:
        """Return a Bearer header value, renewing a token about to expire."""
        if self._access_token is None or self._expiring():
            self._obtain()
        return f"Bearer {self._access_token}"

    def renew(self) -> bool:
        """Obtain a new access token after Zendesk rejected the current one."""
        self._obtain()
        return True

    def _expiring(self) -> bool:
        return pacing.CLOCK.time() >= self._expires_at

    def _obtain(self) -> None:
        payload = {
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        }
        if self._refresh_token:
            payload |= {
                "grant_type": "refresh_token",
                "refresh_token": self._refresh_token,
            }
        else:
            payload |= {"grant_type": "client_credentials", "scope": "read"}
        body = self._post_token_request(payload)

        rotated = body.get("refresh_token")
        if self._refresh_token and rotated and rotated != self._refresh_token:
            self._refresh_token = str(rotated)
            self._refresh_source = "the rotated refresh token of this run"
            self._store_refresh_token(self._refresh_token)

        self._access_token = str(body["access_token"])
        lifetime = _seconds(body.get("expires_in"))
        margin = min(RENEW_MARGIN_SECONDS, lifetime / 10)
        self._expires_at = pacing.CLOCK.time() + lifetime - margin
        self.logger.info(
            "Obtained an OAuth access token with the %s grant, valid for %s s",
            payload["grant_type"],
            f"{lifetime:g}",
        )

    def _post_token_request(self, payload: Mapping[str, str]) -> dict:
        """Send a token request, retrying connection errors, 429 and 5xx.

        Retries honour ``Retry-After`` and otherwise back off exponentially, up to
        the same number of tries as API requests.
        """
        grant = payload["grant_type"]
        for attempt in range(1, self._max_tries + 1):
            backoff_wait = min(BACKOFF_MAX_SECONDS, 2.0**attempt)
            try:
                response = self._session.post(
                    self._token_url,
                    json=payload,
                    timeout=self._timeout,
                    allow_redirects=False,
                )
            except requests.exceptions.RequestException as exc:
                if attempt == self._max_tries:
                    msg = (
                        f"Connection to {self._token_url} failed for the OAuth "
                        f"{grant} grant after {attempt} tries "
                        f"({type(exc).__name__}): check `subdomain`, `api_url` and "
                        "the network."
                    )
                    raise CredentialsError(msg) from None
                self._log_retry(grant, type(exc).__name__, backoff_wait)
                continue
            if not _is_transient(response.status_code):
                return self._token_body(response, grant)
            if attempt == self._max_tries:
                msg = (
                    f"Zendesk's token endpoint {self._token_url} answered HTTP "
                    f"{response.status_code} to the OAuth {grant} grant {attempt} "
                    "times; it did not reject the credentials. The last STATE "
                    "message is exact: run again later."
                )
                raise CredentialsError(msg)
            retry_after = parse_retry_after(
                response.headers.get("Retry-After"), pacing.CLOCK.time()
            )
            wait = backoff_wait if retry_after is None else retry_after
            self._log_retry(grant, f"HTTP {response.status_code}", wait)
        raise AssertionError  # pragma: no cover

    def _log_retry(self, grant: str, failure: str, wait: float) -> None:
        self.logger.warning(
            "Waiting %.1f s before retrying the OAuth %s grant: %s",
            wait,
            grant,
            failure,
        )
        pacing.CLOCK.sleep(wait)

    def _token_body(self, response: requests.Response, grant: str) -> dict:
        if HTTPStatus.MULTIPLE_CHOICES <= response.status_code < HTTPStatus.BAD_REQUEST:
            location = response.headers.get("Location") or "another URL"
            msg = (
                f"Zendesk redirected the OAuth token request to {location} (HTTP "
                f"{response.status_code}); the tap does not follow redirects with "
                "credentials. Check `subdomain` and `api_url`."
            )
            raise CredentialsError(msg)
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if response.ok and body.get("access_token"):
            return body

        error = str(body.get("error") or response.reason or "")
        detail = str(body.get("error_description") or "")[:200]
        msg = (
            f"Zendesk rejected the OAuth {grant} grant (HTTP {response.status_code} "
            f"{error}: {detail}): {self._grant_fix(grant, error)}."
        )
        raise CredentialsError(msg)

    def _grant_fix(self, grant: str, error: str) -> str:
        if grant != "refresh_token" or error == "invalid_client":
            return (
                f"check {_CLIENT_SETTINGS}, and that the OAuth client is still active"
            )
        fix = (
            f"{self._refresh_source} was already used, expired after 30 days "
            "unused, or was revoked. Authorize the OAuth client again and set "
            "`oauth_refresh_token` to the new refresh token"
        )
        if self._token_file is not None and self._token_file.exists():
            return f"{fix}, then delete {self._token_file}, which the tap reads first"
        if self._token_file is None:
            return (
                f"{fix}, and set `oauth_refresh_token_file` so that the tap keeps "
                "each rotated refresh token for the next run"
            )
        return fix

    def _load_refresh_token(self, configured: str) -> str:
        """Return the stored refresh token if there is one, else ``configured``."""
        path = self._token_file
        if path is None:
            return configured
        _check_token_directory(path)
        try:
            stored = path.read_text(encoding="utf-8").strip()
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            return configured
        except OSError as exc:
            msg = (
                f"Could not read `oauth_refresh_token_file` {path}: "
                f"{exc.strerror or type(exc).__name__}. Fix its permissions or "
                "point the setting at a readable file."
            )
            raise CredentialsError(msg) from None
        if not stored:
            return configured
        self._refresh_source = (
            f"the refresh token stored in `oauth_refresh_token_file` {path}"
        )
        if mode & 0o077:
            self.logger.warning(
                "%s contains a live refresh token but other users can access it "
                "(mode %03o): run `chmod 600` on it",
                path,
                mode,
            )
        return stored

    def _store_refresh_token(self, token: str) -> None:
        """Write the rotated refresh token atomically, readable by the owner only.

        Raises:
            CredentialsError: If the file cannot be written. The new refresh token
                is then lost and the user must authorize again.
        """
        path = self._token_file
        if path is None:
            if not self._warned_no_file:
                self.logger.warning(
                    "Zendesk rotated the refresh token, and `oauth_refresh_token_file` "
                    "is not set: the next run fails unless `oauth_refresh_token` is "
                    "set to a new refresh token"
                )
                self._warned_no_file = True
            return
        try:
            _replace_file(path, token + "\n")
        except OSError as exc:
            msg = (
                f"Could not write the rotated refresh token to "
                f"`oauth_refresh_token_file` {path}: "
                f"{exc.strerror or type(exc).__name__}. Zendesk has already "
                "rejected the previous refresh token: authorize the OAuth client "
                "again, set `oauth_refresh_token` to the new refresh token and make "
                "the file writable."
            )
            raise CredentialsError(msg) from None
        self.logger.info("Stored the rotated refresh token in %s", path)


def _is_transient(status: int) -> bool:
    return status == HTTPStatus.TOO_MANY_REQUESTS or status >= 500  # noqa: PLR2004


def _check_token_directory(path: Path) -> None:
    """Fail before the first grant if a rotated refresh token could not be stored.

    The grant makes the current refresh token useless, so a rotated token that
    could not be written afterwards would be lost.

    Raises:
        CredentialsError: If the file's directory cannot be created or written.
    """
    directory = path.parent
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        problem = exc.strerror or type(exc).__name__
    else:
        if path.is_dir():
            problem = "it is a directory"
        elif not os.access(directory, os.W_OK | os.X_OK):
            problem = f"{directory} is not writable"
        else:
            return
    msg = (
        f"Cannot store rotated refresh tokens in `oauth_refresh_token_file` "
        f"{path}: {problem}. Point the setting at a writable file path on a "
        "private volume."
    )
    raise CredentialsError(msg)


def _replace_file(path: Path, text: str) -> None:
    """Replace ``path`` atomically with a file that only its owner can read.

    The content and then the directory entry are synced to disk, so after a crash
    the path contains either the old or the new token, never a partial one.
    """
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".refresh-token-")
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        Path(temporary).replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            Path(temporary).unlink()
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _seconds(value: object) -> float:
    """Read ``expires_in`` as seconds; a missing or invalid value never expires."""
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("inf")
    return seconds if seconds > 0 else float("inf")


def build_oauth(
    method: str,
    base_url: str,
    config: Mapping[str, t.Any],
    timeout: float,
    logger: logging.Logger | None = None,
) -> OAuthAuth:
    """Create the OAuth authenticator of the configured grant, with its own session.

    Raises:
        CredentialsError: If ``oauth_refresh_token_file`` is unusable.
    """
    refresh = (
        config.get("oauth_refresh_token") if method == "oauth_refresh_token" else None
    )
    return OAuthAuth(
        base_url,
        config["oauth_client_id"],
        config["oauth_client_secret"],
        session=requests.Session(),
        timeout=timeout,
        refresh_token=refresh or None,
        token_file=config.get("oauth_refresh_token_file") or None,
        logger=logger,
        max_tries=int(config.get("max_retries", 8)) + 1,
    )
