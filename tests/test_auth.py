"""Authentication methods: headers, the host binding and the choice of one method."""

from __future__ import annotations

import base64
import logging

import pytest
import requests

from tap_zendesk_incremental.auth import (
    RETIREMENT_DATE,
    APITokenAuth,
    BearerTokenAuth,
    ZendeskAuth,
)
from tap_zendesk_incremental.errors import CredentialsError
from tap_zendesk_incremental.oauth import OAuthAuth
from tests.conftest import ACCESS_TOKEN, CLIENT_ID, CLIENT_SECRET
from tests.helpers import API_TOKEN, EMAIL, run_cli, run_in_process

BASE_URL = "https://acme.zendesk.com"
AUTH_SETTINGS = ("email", "api_token", "access_token")


def prepared(url: str) -> requests.PreparedRequest:
    return requests.Request("GET", url).prepare()


def authenticators() -> list[ZendeskAuth]:
    return [
        APITokenAuth(BASE_URL, EMAIL, API_TOKEN),
        BearerTokenAuth(BASE_URL, ACCESS_TOKEN),
        OAuthAuth(
            BASE_URL,
            CLIENT_ID,
            CLIENT_SECRET,
            session=requests.Session(),
            timeout=5,
        ),
    ]


def test_api_token_sent_as_basic():
    request = APITokenAuth(BASE_URL, EMAIL, API_TOKEN)(prepared(BASE_URL + "/api"))

    pair = base64.b64encode(f"{EMAIL}/token:{API_TOKEN}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {pair}"


def test_access_token_sent_as_bearer():
    request = BearerTokenAuth(BASE_URL, ACCESS_TOKEN)(prepared(BASE_URL + "/api"))

    assert request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/api/v2/incremental/tickets.json",
        "https://acme.zendesk.com.evil.example.com/api",
        "http://acme.zendesk.com/api",
        "https://acme.zendesk.com:8443/api",
    ],
)
@pytest.mark.parametrize("auth", authenticators(), ids=repr)
def test_foreign_host_rejected(auth, url):
    request = prepared(url)

    with pytest.raises(CredentialsError, match="not the configured host"):
        auth(request)

    assert "Authorization" not in request.headers


@pytest.mark.parametrize(
    "url", ["https://ACME.zendesk.com/api", "https://acme.zendesk.com:443/api"]
)
def test_same_host_other_spelling_accepted(url):
    request = BearerTokenAuth(BASE_URL, ACCESS_TOKEN)(prepared(url))

    assert request.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"


@pytest.mark.parametrize("auth", authenticators(), ids=repr)
def test_repr_names_method_only(auth):
    text = repr(auth)

    assert auth.method in text
    for secret in (API_TOKEN, ACCESS_TOKEN, CLIENT_SECRET, EMAIL):
        assert secret not in text


def test_cli_without_auth_names_every_method(server, config):
    for key in AUTH_SETTINGS:
        config.pop(key, None)

    run = run_cli(config)

    assert run.exit_code == 1
    assert "No authentication is configured" in run.stderr
    for key in (
        "`email` + `api_token`",
        "`access_token`",
        "`oauth_client_id` + `oauth_client_secret` (client credentials)",
        "`oauth_refresh_token` (refresh token)",
    ):
        assert key in run.stderr
    assert server.requests == []


def test_cli_with_two_methods_names_both(server, config):
    config |= {"oauth_client_id": CLIENT_ID, "oauth_client_secret": CLIENT_SECRET}

    run = run_cli(config)

    assert run.exit_code == 1
    assert "(api_token and oauth_client_credentials)" in run.stderr
    assert "set exactly one of" in run.stderr
    assert server.requests == []
    assert API_TOKEN not in run.stderr
    assert CLIENT_SECRET not in run.stderr


def test_api_token_warning_logged_once(server, config, caplog):
    with caplog.at_level(logging.WARNING):
        run_in_process(config)

    assert len(server.requests) > 1
    warnings = [r for r in caplog.records if RETIREMENT_DATE in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert "`oauth_client_id` and `oauth_client_secret`" in warnings[0].getMessage()


def test_api_token_warning_once_in_cli(server, config):
    run = run_cli(config)

    assert run.exit_code == 0
    lines = [line for line in run.stderr.splitlines() if RETIREMENT_DATE in line]
    assert len(lines) == 1
    assert "WARNING" in lines[0]


def test_oauth_run_has_no_api_token_warning(server, config, caplog):
    for key in AUTH_SETTINGS:
        config.pop(key, None)
    config |= {"oauth_client_id": CLIENT_ID, "oauth_client_secret": CLIENT_SECRET}

    with caplog.at_level(logging.WARNING):
        run_in_process(config)

    assert RETIREMENT_DATE not in caplog.text


def test_static_token_run_sends_bearer(server, account, config):
    for key in AUTH_SETTINGS:
        config.pop(key, None)
    config["access_token"] = ACCESS_TOKEN

    run = run_in_process(config)

    assert sorted(run.versions()) == sorted(account.versions())
    assert {r.auth for r in server.requests} == {"bearer"}
