"""meltano.yml and the plugin definition file agree with the tap's `--about`."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.e2e.support import REPO

yaml = pytest.importorskip("yaml")

SECRETS = {"api_token", "access_token", "oauth_client_secret", "oauth_refresh_token"}


@pytest.fixture(scope="module")
def about() -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "tap_zendesk_incremental", "--about", "--format=json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(completed.stdout)


@pytest.fixture(scope="module")
def project_tap() -> dict:
    project = yaml.safe_load((REPO / "meltano.yml").read_text())
    extractors = project["plugins"]["extractors"]
    return next(p for p in extractors if p["name"] == "tap-zendesk-incremental")


@pytest.fixture(scope="module")
def definition() -> dict:
    path = REPO / "plugins" / "extractors" / "tap-zendesk-incremental.yml"
    return yaml.safe_load(path.read_text())


def test_every_setting_declared(about: dict, project_tap: dict):
    declared = {setting["name"] for setting in project_tap["settings"]}

    assert declared == set(about["settings"]["properties"])


def test_settings_documented(project_tap: dict):
    for setting in project_tap["settings"]:
        assert setting.get("kind"), setting["name"]
        assert setting.get("label"), setting["name"]
        assert setting.get("description"), setting["name"]


def test_secrets_sensitive(about: dict, project_tap: dict):
    sensitive = {s["name"] for s in project_tap["settings"] if s.get("sensitive")}
    secret = {
        name
        for name, schema in about["settings"]["properties"].items()
        if schema.get("secret")
    }

    assert sensitive == SECRETS
    assert secret <= sensitive


def test_capabilities_match(about: dict, project_tap: dict):
    assert set(project_tap["capabilities"]) == set(about["capabilities"])


def test_definition_file_matches(project_tap: dict, definition: dict):
    assert definition["name"] == project_tap["name"]
    assert definition["namespace"] == project_tap["namespace"]
    assert definition["capabilities"] == project_tap["capabilities"]
    assert definition["settings"] == project_tap["settings"]
    assert (
        definition["settings_group_validation"]
        == project_tap["settings_group_validation"]
    )
