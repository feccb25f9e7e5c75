"""OAuth grants against the fake server: renewal, rotation and the token file."""

from __future__ import annotations

import logging
import os
import stat

import pytest
import requests

from fake_zendesk import FakeZendesk
from tap_zendesk_incremental import oauth
from tap_zendesk_incremental.errors import CredentialsError
from tap_zendesk_incremental.oauth import OAuthAuth
from tests.conftest import CLIENT_ID, CLIENT_SECRET
from tests.helpers import run_in_process

REFRESH_TOKEN = "refresh-token-0c4d7e21a9"
AUTH_SETTINGS = ("email", "api_token", "access_token")


@pytest.fixture
def make_server(account, clock):
    """Start fake servers with OAuth clients and a refresh token; stop them after."""
    started = []

    def start(**options) -> FakeZendesk:
        fake = FakeZendesk(
            account,
            clock=clock,
            oauth_clients={CLIENT_ID: CLIENT_SECRET},
            refresh_tokens={REFRESH_TOKEN},
            **options,
        )
        fake.start()
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.stop()


def oauth_config(config: dict, server: FakeZendesk, **settings) -> dict:
    """Return ``config`` pointed at ``server`` with OAuth settings only."""
    others = {key: value for key, value in config.items() if key not in AUTH_SETTINGS}
    return {
        **others,
        "api_url": server.url,
        "oauth_client_id": CLIENT_ID,
        "oauth_client_secret": CLIENT_SECRET,
        **settings,
    }


def refresh_config(config: dict, server: FakeZendesk, token_file) -> dict:
    return oauth_config(
        config,
        server,
        oauth_refresh_token=REFRESH_TOKEN,
        oauth_refresh_token_file=str(token_file),
    )


def token_requests(server: FakeZendesk) -> list:
    return [r for r in server.requests if r.path == "/oauth/tokens"]


def api_requests(server: FakeZendesk) -> list:
    return [r for r in server.requests if r.path.startswith("/api/v2/")]


def test_client_credentials_export_complete(make_server, account, config):
    server = make_server()

    run = run_in_process(oauth_config(config, server))

    assert sorted(run.versions()) == sorted(account.versions())
    assert len(token_requests(server)) == 1
    assert {r.auth for r in api_requests(server)} == {"bearer"}


def test_client_credentials_writes_no_file(
    make_server, account, config, tmp_path, caplog
):
    server = make_server()
    token_file = tmp_path / "tokens" / "acme.token"
    settings = {"oauth_refresh_token_file": str(token_file)}

    with caplog.at_level(logging.WARNING):
        run = run_in_process(oauth_config(config, server, **settings))

    assert sorted(run.versions()) == sorted(account.versions())
    assert list(tmp_path.iterdir()) == []
    assert "`oauth_refresh_token_file` is set but" in caplog.text


def test_refresh_token_stored_owner_only(make_server, account, config, tmp_path):
    server = make_server()
    token_file = tmp_path / "private" / "acme.token"

    run = run_in_process(refresh_config(config, server, token_file))

    assert sorted(run.versions()) == sorted(account.versions())
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    stored = token_file.read_text(encoding="utf-8").strip()
    assert stored
    assert stored != REFRESH_TOKEN
    assert sorted(p.name for p in token_file.parent.iterdir()) == ["acme.token"]
    assert stat.S_IMODE(token_file.parent.stat().st_mode) == 0o700


def test_next_run_uses_stored_token(make_server, account, config, clock, tmp_path):
    """The configured token is spent after run one, so run two must read the file."""
    server = make_server()
    token_file = tmp_path / "acme.token"
    settings = refresh_config(config, server, token_file)
    first = run_in_process(settings)
    stored_after_first = token_file.read_text(encoding="utf-8")
    changed = sorted(account.tickets)[:3]
    account.update(changed, at=int(clock.time()) - 90)

    second = run_in_process(settings, state=first.last_state)

    assert {ticket_id for ticket_id, _ in second.versions()} >= set(changed)
    assert len(token_requests(server)) == 2
    assert {r.status for r in token_requests(server)} == {200}
    assert token_file.read_text(encoding="utf-8") != stored_after_first


def test_token_file_replaced_atomically(make_server, config, tmp_path, caplog):
    """The old file's inode keeps its content: the tap renames a new file over it."""
    server = make_server()
    token_file = tmp_path / "acme.token"
    token_file.write_text(REFRESH_TOKEN + "\n", encoding="utf-8")
    token_file.chmod(0o644)
    old_inode = tmp_path / "old-inode"
    os.link(token_file, old_inode)

    with caplog.at_level(logging.WARNING):
        run_in_process(refresh_config(config, server, token_file))

    assert old_inode.read_text(encoding="utf-8") == REFRESH_TOKEN + "\n"
    assert token_file.stat().st_ino != old_inode.stat().st_ino
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert "run `chmod 600`" in caplog.text


def test_reused_refresh_token_names_setting(make_server, config, tmp_path):
    """Without a token file, the second run spends the already rotated token."""
    server = make_server()
    settings = refresh_config(config, server, tmp_path / "unused")
    del settings["oauth_refresh_token_file"]
    run_in_process(settings)

    with pytest.raises(CredentialsError) as caught:
        run_in_process(settings)

    message = str(caught.value)
    assert "invalid_grant" in message
    assert "the configured `oauth_refresh_token` was already used" in message
    assert "set `oauth_refresh_token_file`" in message
    assert REFRESH_TOKEN not in message


def test_stale_token_file_named_in_error(make_server, config, tmp_path):
    server = make_server()
    token_file = tmp_path / "acme.token"
    token_file.write_text("refresh-token-spent-long-ago\n", encoding="utf-8")
    token_file.chmod(0o600)

    with pytest.raises(CredentialsError) as caught:
        run_in_process(refresh_config(config, server, token_file))

    message = str(caught.value)
    assert f"`oauth_refresh_token_file` {token_file}" in message
    assert f"delete {token_file}" in message
    assert "refresh-token-spent-long-ago" not in message
    assert api_requests(server) == []


def test_unwritable_token_path_fails_first(make_server, account, config, tmp_path):
    """The check runs before the grant, so the configured token stays usable."""
    server = make_server()
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("", encoding="utf-8")

    with pytest.raises(CredentialsError) as caught:
        run_in_process(refresh_config(config, server, blocker / "acme.token"))

    assert "Cannot store rotated refresh tokens" in str(caught.value)
    assert server.requests == []
    rerun = run_in_process(refresh_config(config, server, tmp_path / "acme.token"))
    assert sorted(rerun.versions()) == sorted(account.versions())


@pytest.mark.parametrize("grant", ["client_credentials", "refresh_token"])
def test_run_outlives_three_token_lifetimes(
    make_server, account, config, tmp_path, grant
):
    """At 10 requests per minute, 5 tickets a page: more than 5 minutes of clock."""
    lifetime = 45
    server = make_server(token_lifetime=lifetime, rate_limit_per_minute=10)
    settings = (
        refresh_config(config, server, tmp_path / "acme.token")
        if grant == "refresh_token"
        else oauth_config(config, server)
    )
    settings |= {"page_size": 5, "max_requests_per_minute": 10}
    started = server.clock.time()

    run = run_in_process(settings)

    assert server.clock.time() - started > 3 * lifetime
    assert sorted(run.versions()) == sorted(account.versions())
    assert len(token_requests(server)) >= 4
    assert {r.status for r in token_requests(server)} == {200}
    assert [r for r in api_requests(server) if r.status == 401] == []


@pytest.mark.parametrize("grant", ["client_credentials", "refresh_token"])
def test_revoked_token_renewed_once(make_server, account, config, tmp_path, grant):
    server = make_server()

    def revoke_after_third_request(fake, number):
        if number == 3:
            fake.revoke_tokens()

    server.on_request(revoke_after_third_request)
    settings = (
        refresh_config(config, server, tmp_path / "acme.token")
        if grant == "refresh_token"
        else oauth_config(config, server)
    )
    settings["page_size"] = 20

    run = run_in_process(settings)

    assert sorted(run.versions()) == sorted(account.versions())
    assert len([r for r in api_requests(server) if r.status == 401]) == 1
    assert len(token_requests(server)) == 2


def test_wrong_client_secret_names_settings(make_server, config):
    server = make_server()
    settings = oauth_config(config, server, oauth_client_secret="wrong-secret-91")

    with pytest.raises(CredentialsError) as caught:
        run_in_process(settings)

    message = str(caught.value)
    assert "invalid_client" in message
    assert "check `oauth_client_id` and `oauth_client_secret`" in message
    assert "wrong-secret-91" not in message
    assert len(token_requests(server)) == 1
    assert api_requests(server) == []


class StubSession:
    """A ``requests.Session`` stand-in that returns queued token responses."""

    def __init__(self, *outcomes: tuple[int, dict] | Exception) -> None:
        self.outcomes = list(outcomes)
        self.posts: list[dict] = []
        self.retry_after: str | None = None

    def post(self, url: str, **kwargs) -> requests.Response:
        self.posts.append({"url": url, **kwargs})
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        status, body = outcome
        response = requests.Response()
        response.status_code = status
        response._content = requests.compat.json.dumps(body).encode()  # noqa: SLF001
        if self.retry_after is not None:
            response.headers["Retry-After"] = self.retry_after
        return response


def stub_auth(session: StubSession) -> OAuthAuth:
    return OAuthAuth(
        "https://acme.zendesk.com",
        CLIENT_ID,
        CLIENT_SECRET,
        session=session,  # type: ignore[arg-type]
        timeout=5,
    )


def token(value: str, expires_in: int = 100) -> tuple[int, dict]:
    return (200, {"access_token": value, "expires_in": expires_in})


def test_token_renewed_before_expiry(clock):
    session = StubSession(token("first"), token("second"))
    auth = stub_auth(session)

    assert auth.authorization() == "Bearer first"
    clock.advance(89)
    assert auth.authorization() == "Bearer first"
    clock.advance(2)
    assert auth.authorization() == "Bearer second"
    assert len(session.posts) == 2
    assert session.posts[0]["url"] == "https://acme.zendesk.com/oauth/tokens"
    assert session.posts[0]["allow_redirects"] is False
    assert session.posts[0]["json"]["grant_type"] == "client_credentials"


def test_token_request_retries_transient_failures(clock):
    session = StubSession(
        (503, {}), requests.exceptions.ConnectionError("reset"), token("third")
    )
    auth = stub_auth(session)
    started = clock.time()

    assert auth.authorization() == "Bearer third"
    assert len(session.posts) == 3
    assert clock.time() - started == 2 + 4


def test_unreachable_token_endpoint_fails(clock):
    failures = [requests.exceptions.ConnectionError("refused")] * oauth.TOKEN_TRIES
    auth = stub_auth(StubSession(*failures))

    with pytest.raises(CredentialsError, match=r"Connection to .* failed") as caught:
        auth.authorization()

    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_token_redirect_not_followed(clock):
    redirect = (302, {})
    session = StubSession(redirect)
    auth = stub_auth(session)

    with pytest.raises(CredentialsError, match="does not follow redirects"):
        auth.authorization()

    assert len(session.posts) == 1


def test_invalid_expires_in_never_expires(clock):
    session = StubSession((200, {"access_token": "only", "expires_in": "soon"}))
    auth = stub_auth(session)

    assert auth.authorization() == "Bearer only"
    clock.advance(10 * 86_400)
    assert auth.authorization() == "Bearer only"
    assert len(session.posts) == 1


def test_token_retry_honours_retry_after(clock):
    session = StubSession((429, {}), (503, {}), token("fresh"))
    session.retry_after = "7"
    auth = OAuthAuth(
        "https://acme.zendesk.com",
        CLIENT_ID,
        CLIENT_SECRET,
        session=session,  # type: ignore[arg-type]
        timeout=5,
        max_tries=5,
    )
    started = clock.time()

    assert auth.authorization() == "Bearer fresh"
    assert clock.time() - started == 7 + 7


def test_token_endpoint_down_is_not_a_credentials_problem(clock):
    auth = stub_auth(StubSession(*[(503, {})] * oauth.TOKEN_TRIES))

    with pytest.raises(CredentialsError, match="did not reject the credentials"):
        auth.authorization()
