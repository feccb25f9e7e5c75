"""Settings checks: every invalid value fails before any request, naming itself."""

from __future__ import annotations

import pytest

from tap_zendesk_incremental.settings import auth_method, validate_config
from tests.helpers import API_TOKEN, EMAIL, run_cli

BASE = {"subdomain": "acme", "email": EMAIL, "api_token": API_TOKEN}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"start_date": "yesterday"}, "`start_date` = 'yesterday'"),
        ({"start_date": "2024-13-45"}, "`start_date` = '2024-13-45'"),
        ({"end_date": "2020-01-01", "start_date": "2021-01-01"}, "`end_date`"),
        ({"page_size": 0}, "`page_size` = 0"),
        ({"page_size": 5000}, "`page_size` = 5000"),
        ({"support_type_scope": "robots"}, "`support_type_scope` = 'robots'"),
        ({"subdomain": "https://acme.zendesk.com"}, "`subdomain` = 'https://acme"),
        ({"subdomain": "acme.zendesk.com"}, "`subdomain` = 'acme.zendesk.com'"),
        ({"subdomain": "ac me"}, "`subdomain` = 'ac me'"),
        ({"api_url": "http://zendesk.example.com"}, "`api_url`"),
        ({"api_url": "ftp://127.0.0.1"}, "`api_url`"),
        ({"max_requests_per_minute": 0}, "`max_requests_per_minute` = 0"),
        ({"sideloads": ["users", "tickets"]}, "`sideloads`"),
        ({"page_size": "many"}, "`page_size` = 'many'"),
    ],
)
def test_invalid_setting_named(change, named):
    errors = validate_config({**BASE, **change})

    assert len(errors) == 1
    assert named in errors[0]
    assert "expected" in errors[0]


def test_valid_settings_pass():
    assert validate_config({**BASE, "start_date": "2024-01-01"}) == []
    assert validate_config({**BASE, "api_url": "http://127.0.0.1:8080"}) == []
    assert validate_config({**BASE, "api_url": "https://proxy.example.com"}) == []


def test_subdomain_or_api_url_required():
    errors = validate_config({"email": EMAIL, "api_token": API_TOKEN})

    expected = (
        "Missing setting `subdomain`: set the account's subdomain, such as 'acme' "
        "for acme.zendesk.com, or set `api_url`."
    )
    assert errors == [expected]


def test_secret_value_never_shown():
    errors = validate_config({**BASE, "api_token": 12345678})

    assert errors
    assert "12345678" not in " ".join(errors)
    assert "`api_token`" in errors[0]


@pytest.mark.parametrize(
    ("config", "method"),
    [
        ({"email": "a@b.c", "api_token": "t"}, "api_token"),
        ({"access_token": "t"}, "access_token"),
        (
            {"oauth_client_id": "c", "oauth_client_secret": "s"},
            "oauth_client_credentials",
        ),
        (
            {
                "oauth_client_id": "c",
                "oauth_client_secret": "s",
                "oauth_refresh_token": "r",
            },
            "oauth_refresh_token",
        ),
    ],
)
def test_auth_method_detected(config, method):
    assert auth_method(config) == method


def test_no_auth_names_every_method():
    with pytest.raises(ValueError, match="No authentication") as caught:
        auth_method({"subdomain": "acme"})

    for key in ("api_token", "access_token", "oauth_client_id", "oauth_refresh_token"):
        assert key in str(caught.value)


def test_two_auth_methods_rejected():
    with pytest.raises(ValueError, match="api_token and access_token"):
        auth_method({"email": "a@b.c", "api_token": "t", "access_token": "u"})


def test_incomplete_auth_names_missing_key():
    with pytest.raises(ValueError, match="`api_token`"):
        auth_method({"email": "a@b.c"})


def test_cli_rejects_bad_setting_before_any_request(server):
    config = {**BASE, "api_url": server.url, "page_size": 0}
    config.pop("subdomain")

    run = run_cli(config)

    assert run.exit_code != 0
    assert "`page_size` = 0" in run.stderr
    assert run.messages == []
    assert server.requests == []
    assert API_TOKEN not in run.stderr
