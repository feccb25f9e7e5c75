"""Fatal responses end a CLI run at once with one ERROR line and a non-zero exit."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ACCESS_TOKEN, CLIENT_ID, CLIENT_SECRET
from tests.helpers import API_TOKEN, EMAIL, run_cli, run_in_process

DEBUG = {"TAP_ZENDESK_INCREMENTAL_LOGLEVEL": "DEBUG"}
ERROR_LINE = re.compile(r"^.*\|\s*ERROR\s*\|.*$", re.MULTILINE)
AUTH_SETTINGS = ("email", "api_token", "access_token", "oauth_client_id")
METHODS = {
    "api_token": {"email": EMAIL, "api_token": API_TOKEN},
    "access_token": {"access_token": ACCESS_TOKEN},
    "oauth_client_credentials": {
        "oauth_client_id": CLIENT_ID,
        "oauth_client_secret": CLIENT_SECRET,
    },
}
SECRETS = (API_TOKEN, ACCESS_TOKEN, CLIENT_SECRET)


def with_method(config: dict, method: str) -> dict:
    """Return ``config`` with only the settings of one authentication method."""
    others = {key: value for key, value in config.items() if key not in AUTH_SETTINGS}
    return {**others, **METHODS[method]}


def api_requests(server) -> list:
    return [r for r in server.requests if r.path.startswith("/api/v2/")]


def token_requests(server) -> list:
    return [r for r in server.requests if r.path == "/oauth/tokens"]


def error_lines(stderr: str) -> list[str]:
    return ERROR_LINE.findall(stderr)


@pytest.mark.parametrize(
    ("status", "cause", "fix"),
    [
        (401, "HTTP 401", "check `email` and `api_token`"),
        (403, "HTTP 403", "needs an admin user"),
        (404, "HTTP 404", "check `subdomain`"),
    ],
)
def test_fatal_status_with_api_token(server, config, status, cause, fix):
    server.set_status(status)

    run = run_cli(with_method(config, "api_token"), env=DEBUG)

    assert run.exit_code == 1
    assert len(api_requests(server)) == 1
    lines = error_lines(run.stderr)
    assert len(lines) == 1, lines
    assert cause in lines[0]
    assert fix in lines[0]
    assert "Traceback" not in run.stderr
    assert "Retrying" not in run.stderr
    assert [m for m in run.messages if m["type"] == "RECORD"] == []
    for secret in SECRETS:
        assert secret not in run.stderr


@pytest.mark.parametrize(
    ("status", "api_count", "fix"),
    [
        (401, 2, "check `oauth_client_id` and `oauth_client_secret`"),
        (403, 1, "needs the `read` scope"),
        (404, 1, "check `subdomain`"),
    ],
)
def test_fatal_status_with_oauth(server, config, status, api_count, fix):
    """A 401 gets one renewal and one more try; 403 and 404 get none."""
    server.set_status(status)

    run = run_cli(with_method(config, "oauth_client_credentials"), env=DEBUG)

    assert run.exit_code == 1
    assert len(api_requests(server)) == api_count
    assert len(token_requests(server)) == api_count
    lines = error_lines(run.stderr)
    assert len(lines) == 1, lines
    assert f"HTTP {status}" in lines[0]
    assert fix in lines[0]
    assert "Traceback" not in run.stderr
    for secret in SECRETS:
        assert secret not in run.stderr


def test_fatal_401_with_static_token_names_fix(server, config):
    server.set_status(401)

    run = run_cli(with_method(config, "access_token"), env=DEBUG)

    assert run.exit_code == 1
    assert len(api_requests(server)) == 1
    lines = error_lines(run.stderr)
    assert len(lines) == 1, lines
    assert "authentication method access_token" in lines[0]
    assert "set a new `access_token`" in lines[0]
    assert ACCESS_TOKEN not in run.stderr


def test_revoked_static_token_leaves_exact_state(server, account, config):
    """Revoked mid-run, the run stops; a rerun from its last STATE gets the rest."""
    config["page_size"] = 20

    def revoke_after_second_page(fake, number):
        if number == 2:
            fake.revoke_tokens()

    server.on_request(revoke_after_second_page)

    first = run_cli(with_method(config, "access_token"))

    assert first.exit_code == 1
    lines = error_lines(first.stderr)
    assert len(lines) == 1, lines
    assert "HTTP 401 invalid_token" in lines[0]
    assert "set a new `access_token`" in lines[0]
    assert len([r for r in api_requests(server) if r.status == 401]) == 1
    tickets_after_state = []
    for message in first.messages:
        if message["type"] == "STATE":
            tickets_after_state = []
        elif message["type"] == "RECORD" and message["stream"] == "tickets":
            tickets_after_state.append(message["record"]["id"])
    assert tickets_after_state == []
    bookmark = first.bookmarks()[-1]
    assert bookmark is not None
    assert first.versions()
    assert max(ts for _, ts in first.versions()) <= bookmark

    rerun = run_in_process(
        with_method(config, "oauth_client_credentials"), state=first.last_state
    )

    assert min(ts for _, ts in rerun.versions()) >= bookmark
    delivered = set(first.versions()) | set(rerun.versions())
    assert delivered == set(account.versions())
