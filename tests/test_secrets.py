"""No secret in any output, and credentials only ever sent to the configured host."""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from fake_zendesk import FakeZendesk
from tap_zendesk_incremental.errors import (
    CredentialsError,
    ExportShapeError,
    ZendeskAPIError,
    ZendeskTapError,
)
from tests.conftest import ACCESS_TOKEN, CLIENT_ID, CLIENT_SECRET
from tests.helpers import API_TOKEN, EMAIL, run_cli, run_in_process

REFRESH_TOKEN = "refresh-token-6b1f0e93d2"
DEBUG = {"TAP_ZENDESK_INCREMENTAL_LOGLEVEL": "DEBUG"}
AUTH_SETTINGS = ("email", "api_token", "access_token")
BASIC_PAIR = base64.b64encode(f"{EMAIL}/token:{API_TOKEN}".encode()).decode()
CONFIGURED_SECRETS = (API_TOKEN, ACCESS_TOKEN, CLIENT_SECRET, REFRESH_TOKEN)
# Text that only a leaked header or credential pair would put in the output.
HEADER_MARKERS = (
    "Authorization: ",
    "'Authorization':",
    "Bearer ",
    '"Authorization":',
    BASIC_PAIR,
    f"{EMAIL}/token:",
)
METHODS = {
    "api_token": {"email": EMAIL, "api_token": API_TOKEN},
    "access_token": {"access_token": ACCESS_TOKEN},
    "oauth_client_credentials": {
        "oauth_client_id": CLIENT_ID,
        "oauth_client_secret": CLIENT_SECRET,
    },
    "oauth_refresh_token": {
        "oauth_client_id": CLIENT_ID,
        "oauth_client_secret": CLIENT_SECRET,
        "oauth_refresh_token": REFRESH_TOKEN,
    },
}


@pytest.fixture
def full_server(account, clock):
    """A fake server that accepts every authentication method, refresh included."""
    fake = FakeZendesk(
        account,
        clock=clock,
        email=EMAIL,
        api_token=API_TOKEN,
        access_tokens={ACCESS_TOKEN},
        oauth_clients={CLIENT_ID: CLIENT_SECRET},
        refresh_tokens={REFRESH_TOKEN},
    )
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def method_config(config, full_server, tmp_path):
    """Build the run settings for one authentication method against full_server."""

    def build(method: str) -> dict:
        others = {k: v for k, v in config.items() if k not in AUTH_SETTINGS}
        settings = {**others, **METHODS[method], "api_url": full_server.url}
        if method == "oauth_refresh_token":
            settings["oauth_refresh_token_file"] = str(tmp_path / "acme.token")
        return settings

    return build


def leaked(text: str, secrets: tuple[str, ...] = ()) -> list[str]:
    """Return the secrets and header markers that occur in ``text``."""
    candidates = (*CONFIGURED_SECRETS, *HEADER_MARKERS, *secrets)
    return [value for value in candidates if value in text]


@pytest.mark.parametrize("method", list(METHODS))
def test_debug_run_shows_no_secret(method_config, tmp_path, method):
    run = run_cli(method_config(method), env=DEBUG)

    assert run.exit_code == 0, run.stderr[-2000:]
    assert run.records()
    assert "| DEBUG" in run.stderr
    assert "urllib3.connectionpool" in run.stderr
    rotated = ()
    token_file = tmp_path / "acme.token"
    if token_file.exists():
        rotated = (token_file.read_text(encoding="utf-8").strip(),)
    output = json.dumps(run.messages) + run.stderr
    assert leaked(output, rotated) == []


@pytest.mark.parametrize("method", list(METHODS))
def test_env_settings_show_no_secret(method_config, tmp_path, method):
    """Settings from TAP_ZENDESK_INCREMENTAL_* variables, as Meltano can pass them."""
    settings = method_config(method)
    keys = [*METHODS[method]]
    if method == "oauth_refresh_token":
        keys.append("oauth_refresh_token_file")
    env = {f"TAP_ZENDESK_INCREMENTAL_{key.upper()}": settings.pop(key) for key in keys}

    run = run_cli(settings, extra_args=("--config", "ENV"), env={**DEBUG, **env})

    assert run.exit_code == 0, run.stderr[-2000:]
    assert run.records()
    for key in keys:
        assert f"Parsing '{key}' config from env variable" in run.stderr
    rotated = ()
    token_file = tmp_path / "acme.token"
    if token_file.exists():
        rotated = (token_file.read_text(encoding="utf-8").strip(),)
    assert leaked(json.dumps(run.messages) + run.stderr, rotated) == []


@pytest.mark.parametrize("method", list(METHODS))
def test_rejected_credentials_show_no_secret(full_server, method_config, method):
    full_server.set_status(401)

    run = run_cli(method_config(method), env=DEBUG)

    assert run.exit_code == 1
    assert "HTTP 401" in run.stderr
    assert leaked(json.dumps(run.messages) + run.stderr) == []


def test_rejected_grants_show_no_secret(method_config, tmp_path):
    wrong_secret = method_config("oauth_client_credentials")
    wrong_secret["oauth_client_secret"] = "wrong-client-secret-44"
    spent_token = method_config("oauth_refresh_token")
    (tmp_path / "acme.token").write_text("spent-refresh-token-17\n")

    for settings, value in (
        (wrong_secret, "wrong-client-secret-44"),
        (spent_token, "spent-refresh-token-17"),
    ):
        run = run_cli(settings, env=DEBUG)

        assert run.exit_code == 1
        assert "Zendesk rejected the OAuth" in run.stderr
        assert leaked(run.stderr, (value,)) == []


@pytest.mark.parametrize(
    "extra_args",
    [("--about",), ("--about", "--format=json"), ("--about", "--format=markdown")],
)
def test_about_shows_no_secret(method_config, tmp_path, extra_args):
    settings = {**method_config("oauth_refresh_token"), "api_token": API_TOKEN}
    settings["access_token"] = ACCESS_TOKEN
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(settings))
    command = [sys.executable, "-m", "tap_zendesk_incremental"]

    completed = subprocess.run(
        [*command, "--config", str(config_path), *extra_args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **DEBUG},
        check=False,
    )

    assert completed.returncode == 0
    assert "oauth_refresh_token_file" in completed.stdout
    assert leaked(completed.stdout + completed.stderr) == []


@pytest.fixture
def issued_tokens(monkeypatch):
    """Record every access and refresh token that the fake server issues."""
    tokens: list[str] = []
    original_post = requests.Session.post

    def recording_post(session, url, *args, **kwargs):
        response = original_post(session, url, *args, **kwargs)
        if response.ok:
            body = response.json()
            tokens.extend(
                body[key] for key in ("access_token", "refresh_token") if key in body
            )
        return response

    monkeypatch.setattr(requests.Session, "post", recording_post)
    return tokens


@pytest.mark.parametrize("method", ["oauth_client_credentials", "oauth_refresh_token"])
def test_issued_tokens_never_logged(
    full_server, method_config, issued_tokens, caplog, method
):
    def revoke_after_second_request(fake, number):
        if number == 2:
            fake.revoke_tokens()

    full_server.on_request(revoke_after_second_request)
    caplog.set_level(logging.DEBUG)

    run = run_in_process(method_config(method))

    assert run.records()
    assert len(issued_tokens) >= 2
    assert "urllib3.connectionpool" in {r.name for r in caplog.records}
    output = json.dumps(run.messages) + caplog.text
    assert leaked(output, tuple(issued_tokens)) == []


@pytest.mark.parametrize(
    ("method", "change"),
    [
        ("api_token", {"api_token": "wrong-api-token-3f"}),
        ("access_token", {"access_token": "wrong-access-token-8a"}),
        ("oauth_client_credentials", {"oauth_client_secret": "wrong-secret-5c"}),
        ("oauth_refresh_token", {"oauth_refresh_token": "wrong-refresh-token-2e"}),
    ],
)
def test_exception_text_has_no_secret(method_config, method, change):
    settings = {**method_config(method), **change}

    with pytest.raises(ZendeskTapError) as caught:
        run_in_process(settings)

    text = "".join(traceback.format_exception(caught.value)) + repr(caught.value)
    assert leaked(text, tuple(change.values())) == []


@pytest.fixture
def lookups(monkeypatch):
    """Record the host of every DNS lookup made in this process."""
    hosts: list[str] = []
    original = socket.getaddrinfo

    def recording_getaddrinfo(host, *args, **kwargs):
        hosts.append(host)
        return original(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recording_getaddrinfo)
    return hosts


@pytest.mark.parametrize("method", list(METHODS))
def test_next_page_host_gets_nothing(full_server, method_config, lookups, method):
    full_server.next_page_host = "other.example.com"

    with pytest.raises(ExportShapeError) as caught:
        run_in_process(method_config(method))

    message = str(caught.value)
    assert "next page link points at other.example.com" in message
    assert "stopping without sending credentials there" in message
    assert "other.example.com" not in lookups
    export = [r for r in full_server.requests if "incremental" in r.path]
    assert len(export) == 1


def test_next_page_host_cli_error(full_server, method_config):
    full_server.next_page_host = "other.example.com"

    run = run_cli(method_config("oauth_client_credentials"), env=DEBUG)

    assert run.exit_code == 1
    errors = [line for line in run.stderr.splitlines() if "| ERROR" in line]
    assert len(errors) == 1
    assert "other.example.com" in errors[0]
    assert "Check `subdomain` and `api_url`" in errors[0]
    for attempt in ("Connection", "NameResolution", "resolve", "Max retries"):
        assert attempt not in run.stderr
    assert "other.example.com" not in _debug_request_lines(run.stderr)
    assert leaked(run.stderr) == []


def _debug_request_lines(stderr: str) -> str:
    return "\n".join(
        line for line in stderr.splitlines() if "urllib3.connectionpool" in line
    )


class _RedirectHandler(BaseHTTPRequestHandler):
    """Respond to every request with 302 to the same path on ``server.target``."""

    server: _RedirectServer

    def do_GET(self) -> None:
        self._redirect()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._redirect()

    def _redirect(self) -> None:
        self.server.paths.append(self.path)
        self.send_response(302)
        self.send_header("Location", self.server.target + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, message_format: str, *args: object) -> None:
        """Log nothing: the test reads ``server.paths``."""


class _RedirectServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, target: str) -> None:
        super().__init__(("127.0.0.1", 0), _RedirectHandler)
        self.target = target
        self.paths: list[str] = []


@pytest.fixture
def redirect_server(full_server):
    """A server on 127.0.0.1 that redirects every request to full_server."""
    redirector = _RedirectServer(full_server.url)
    thread = threading.Thread(
        target=redirector.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    yield redirector
    redirector.shutdown()
    redirector.server_close()


def test_api_redirect_not_followed(full_server, redirect_server, method_config):
    settings = method_config("api_token")
    settings["api_url"] = f"http://127.0.0.1:{redirect_server.server_port}"

    with pytest.raises(ZendeskAPIError) as caught:
        run_in_process(settings)

    assert "does not follow redirects with credentials" in str(caught.value)
    assert full_server.url in str(caught.value)
    assert len(redirect_server.paths) == 1
    assert full_server.requests == []


def test_token_redirect_not_followed(full_server, redirect_server, method_config):
    settings = method_config("oauth_client_credentials")
    settings["api_url"] = f"http://127.0.0.1:{redirect_server.server_port}"

    with pytest.raises(CredentialsError) as caught:
        run_in_process(settings)

    assert "redirected the OAuth token request" in str(caught.value)
    assert redirect_server.paths == ["/oauth/tokens"]
    assert full_server.requests == []
