"""Settings of the tap: their JSON Schema and the checks that run before any request."""

from __future__ import annotations

import copy
import datetime
import ipaddress
import re
import typing as t
from urllib.parse import urlsplit

from singer_sdk import typing as th

MAX_PAGE_SIZE = 1000
SUPPORT_TYPE_SCOPES = ("agent", "all", "ai_agent")
SIDELOADS = ("users", "groups", "organizations", "brands", "metric_sets")

_SUBDOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", re.IGNORECASE)
_LOOPBACK_NAMES = ("localhost",)

CONFIG_SCHEMA = th.PropertiesList(
    th.Property(
        "subdomain",
        th.StringType,
        title="Subdomain",
        description=(
            "The Zendesk account's subdomain: `acme` for acme.zendesk.com. "
            "Required unless `api_url` is set."
        ),
    ),
    th.Property(
        "email",
        th.StringType,
        title="Email",
        description="Email of the Zendesk admin that owns `api_token`.",
    ),
    th.Property(
        "api_token",
        th.StringType,
        secret=True,
        title="API Token",
        description=(
            "Zendesk API token, sent with `email` as Basic auth "
            "`{email}/token:{api_token}`. Zendesk stops accepting API tokens on "
            "2027-04-30: prefer the OAuth settings."
        ),
    ),
    th.Property(
        "access_token",
        th.StringType,
        secret=True,
        title="OAuth Access Token",
        description=(
            "A static OAuth bearer token with the `read` scope. Tokens of new OAuth "
            "clients expire after 30 minutes: for long runs use the client "
            "credentials or refresh token settings instead."
        ),
    ),
    th.Property(
        "oauth_client_id",
        th.StringType,
        title="OAuth Client ID",
        description=(
            "Identifier of a confidential Zendesk OAuth client. With "
            "`oauth_client_secret` alone the tap uses the client credentials grant; "
            "with `oauth_refresh_token` too it uses the refresh token grant."
        ),
    ),
    th.Property(
        "oauth_client_secret",
        th.StringType,
        secret=True,
        title="OAuth Client Secret",
        description="Secret of the OAuth client named by `oauth_client_id`.",
    ),
    th.Property(
        "oauth_refresh_token",
        th.StringType,
        secret=True,
        title="OAuth Refresh Token",
        description=(
            "Refresh token for the refresh token grant. Zendesk rotates it on every "
            "use, so set `oauth_refresh_token_file` to keep the newest one."
        ),
    ),
    th.Property(
        "oauth_refresh_token_file",
        th.StringType,
        title="OAuth Refresh Token File",
        description=(
            "Path of a file where the tap stores each rotated refresh token (owner "
            "read and write only) and reads it back on the next run, in preference "
            "to `oauth_refresh_token`."
        ),
    ),
    th.Property(
        "start_date",
        th.StringType,
        title="Start Date",
        description=(
            "ISO 8601 date or datetime of the first change to export, such as "
            "`2024-01-01` or `2024-01-01T00:00:00Z`. Without it the first run "
            "exports the account's whole history. A bookmark from state wins when "
            "it is later."
        ),
    ),
    th.Property(
        "end_date",
        th.StringType,
        title="End Date",
        description=(
            "ISO 8601 date or datetime before which the export stops, for bounded "
            "backfills. The bookmark then records where the window ended."
        ),
    ),
    th.Property(
        "api_url",
        th.StringType,
        title="API URL",
        description=(
            "Base URL that replaces `https://{subdomain}.zendesk.com`, for proxies "
            "and tests. Plain `http://` is accepted only for loopback hosts."
        ),
    ),
    th.Property(
        "page_size",
        th.IntegerType,
        default=MAX_PAGE_SIZE,
        title="Page Size",
        description="Tickets per export page (`per_page`), from 1 to 1000.",
    ),
    th.Property(
        "exclude_deleted",
        th.BooleanType,
        default=False,
        title="Exclude Deleted",
        description=(
            "Leave deleted tickets out of the export. By default they are emitted "
            "with status `deleted`."
        ),
    ),
    th.Property(
        "support_type_scope",
        th.StringType,
        default="agent",
        allowed_values=list(SUPPORT_TYPE_SCOPES),
        title="Support Type Scope",
        description=(
            "Which tickets to export: `agent` (Zendesk's default, leaves out tickets "
            "handled by AI agents), `all`, or `ai_agent`."
        ),
    ),
    th.Property(
        "sideloads",
        th.ArrayType(th.StringType),
        default=[],
        title="Sideloads",
        description=(
            "Related objects to read from the same export responses, each emitted "
            "as its own stream (metric_sets as `ticket_metrics`): "
            + ", ".join(SIDELOADS)
            + ". They cost no extra request. Without a catalog this setting "
            "selects their streams; with a catalog, selecting a sideload stream "
            "requests its sideload and deselecting it leaves it out."
        ),
    ),
    th.Property(
        "max_requests_per_minute",
        th.IntegerType,
        default=10,
        title="Max Requests per Minute",
        description=(
            "Export requests the tap sends per rolling minute: 10 is Zendesk's "
            "incremental export limit, 30 with the High Volume API add-on."
        ),
    ),
    th.Property(
        "max_retries",
        th.IntegerType,
        default=8,
        title="Max Retries",
        description=(
            "Retries of one request after a rate limit, a 5xx status, a connection "
            "error, a timeout or a cut-off body, before the run fails."
        ),
    ),
    th.Property(
        "request_timeout",
        th.NumberType,
        default=300,
        title="Request Timeout",
        description="Seconds to wait for Zendesk's response to one request.",
    ),
    th.Property(
        "user_agent",
        th.StringType,
        title="User Agent",
        description="Value of the User-Agent header sent to Zendesk.",
    ),
).to_dict()

#: The tap's own settings. The SDK later adds its built-in settings (stream maps,
#: flattening) to ``CONFIG_SCHEMA`` in place, and checks those itself.
TAP_SETTINGS = copy.deepcopy(CONFIG_SCHEMA["properties"])

SECRET_SETTINGS = frozenset(
    name for name, schema in TAP_SETTINGS.items() if schema.get("secret")
)

AUTH_METHODS = {
    "api_token": ("email", "api_token"),
    "access_token": ("access_token",),
    "oauth_client_credentials": ("oauth_client_id", "oauth_client_secret"),
    "oauth_refresh_token": (
        "oauth_client_id",
        "oauth_client_secret",
        "oauth_refresh_token",
    ),
}
AUTH_CHOICES = (
    "`email` + `api_token`, `access_token`, `oauth_client_id` + "
    "`oauth_client_secret` (client credentials), or `oauth_client_id` + "
    "`oauth_client_secret` + `oauth_refresh_token` (refresh token)"
)


def is_set(config: t.Mapping[str, t.Any], key: str) -> bool:
    """Tell whether a setting has a value; Meltano may pass empty strings."""
    return config.get(key) not in (None, "")


def parse_iso_datetime(value: str) -> datetime.datetime:
    """Parse an ISO 8601 date or datetime as UTC; a naive value is taken as UTC.

    Raises:
        ValueError: If the value is not ISO 8601.
    """
    parsed = datetime.datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed


def auth_method(config: t.Mapping[str, t.Any]) -> str:
    """Name the one configured authentication method.

    Raises:
        ValueError: If no method or several methods are configured.
    """
    configured = []
    if is_set(config, "email") or is_set(config, "api_token"):
        configured.append("api_token")
    if is_set(config, "access_token"):
        configured.append("access_token")
    oauth_keys = ("oauth_client_id", "oauth_client_secret", "oauth_refresh_token")
    if any(is_set(config, key) for key in oauth_keys):
        refresh = is_set(config, "oauth_refresh_token")
        configured.append(
            "oauth_refresh_token" if refresh else "oauth_client_credentials"
        )

    if not configured:
        msg = f"No authentication is configured: set exactly one of {AUTH_CHOICES}."
        raise ValueError(msg)
    if len(configured) > 1:
        names = " and ".join(configured)
        msg = (
            f"Several authentication methods are configured ({names}): set exactly "
            f"one of {AUTH_CHOICES}."
        )
        raise ValueError(msg)

    method = configured[0]
    missing = [key for key in AUTH_METHODS[method] if not is_set(config, key)]
    if missing:
        keys = ", ".join(f"`{key}`" for key in missing)
        msg = f"Authentication method {method} is incomplete: also set {keys}."
        raise ValueError(msg)
    return method


def validate_config(config: t.Mapping[str, t.Any]) -> list[str]:
    """Check every setting and return one message per invalid value.

    Messages name the setting, the value (never a secret's value) and what is
    accepted.
    """
    checks = (
        _check_types,
        _check_host,
        _check_auth,
        _check_dates,
        _check_numbers,
        _check_choices,
    )
    errors: list[str] = []
    for check in checks:
        errors.extend(check(config))
    return errors


def _shown(key: str, value: object) -> str:
    return "(hidden)" if key in SECRET_SETTINGS else repr(value)


def _check_types(config: t.Mapping[str, t.Any]) -> list[str]:
    expected = {
        "string": (str,),
        "integer": (int,),
        "number": (int, float),
        "boolean": (bool,),
        "array": (list, tuple),
    }
    errors = []
    for key, schema in TAP_SETTINGS.items():
        value = config.get(key)
        type_name = next(name for name in schema["type"] if name != "null")
        wrong_bool = isinstance(value, bool) and type_name in {"integer", "number"}
        if value is None or (isinstance(value, expected[type_name]) and not wrong_bool):
            continue
        errors.append(
            f"Invalid setting `{key}` = {_shown(key, value)}: expected a {type_name}."
        )
    return errors


def _check_host(config: t.Mapping[str, t.Any]) -> list[str]:
    subdomain = config.get("subdomain")
    api_url = config.get("api_url")
    errors = []
    if is_set(config, "subdomain") and isinstance(subdomain, str):
        if not _SUBDOMAIN.match(subdomain):
            errors.append(
                f"Invalid setting `subdomain` = {subdomain!r}: expected only the "
                "account's subdomain label, such as 'acme' for acme.zendesk.com "
                "(letters, digits and hyphens, without scheme, dots or spaces)."
            )
    elif not is_set(config, "api_url"):
        errors.append(
            "Missing setting `subdomain`: set the account's subdomain, such as "
            "'acme' for acme.zendesk.com, or set `api_url`."
        )
    if is_set(config, "api_url") and isinstance(api_url, str):
        problem = _api_url_problem(api_url)
        if problem:
            errors.append(f"Invalid setting `api_url` = {api_url!r}: {problem}")
    return errors


def _api_url_problem(api_url: str) -> str | None:
    parts = urlsplit(api_url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return "expected an absolute http:// or https:// URL such as https://acme.zendesk.com."
    if parts.username or parts.password or parts.query or parts.fragment:
        return "expected a base URL without credentials, query or fragment."
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return (
            "expected https://, because plain http:// is accepted only for "
            "loopback hosts (127.0.0.1, ::1, localhost)."
        )
    return None


def is_loopback(hostname: str) -> bool:
    """Tell whether a host name or address is on this machine's loopback."""
    if hostname.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def _check_auth(config: t.Mapping[str, t.Any]) -> list[str]:
    try:
        auth_method(config)
    except ValueError as exc:
        return [str(exc)]
    return []


def _check_dates(config: t.Mapping[str, t.Any]) -> list[str]:
    errors = []
    parsed = {}
    for key in ("start_date", "end_date"):
        value = config.get(key)
        if not is_set(config, key) or not isinstance(value, str):
            continue
        try:
            parsed[key] = parse_iso_datetime(value)
        except ValueError:
            errors.append(
                f"Invalid setting `{key}` = {value!r}: expected an ISO 8601 date or "
                "datetime such as 2024-01-31 or 2024-01-31T12:00:00Z."
            )
    window = (parsed.get("start_date"), parsed.get("end_date"))
    if window[0] and window[1] and window[1] <= window[0]:
        errors.append(
            f"Invalid setting `end_date` = {config['end_date']!r}: expected a time "
            f"after `start_date` ({config['start_date']!r})."
        )
    return errors


def _check_numbers(config: t.Mapping[str, t.Any]) -> list[str]:
    limits = {
        "page_size": (1, MAX_PAGE_SIZE),
        "max_requests_per_minute": (1, 2500),
        "max_retries": (0, 100),
        "request_timeout": (1, 3600),
    }
    errors = []
    for key, (low, high) in limits.items():
        value = config.get(key)
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        if not low <= value <= high:
            errors.append(
                f"Invalid setting `{key}` = {value!r}: expected a number from {low} "
                f"to {high}."
            )
    return errors


def _check_choices(config: t.Mapping[str, t.Any]) -> list[str]:
    errors = []
    scope = config.get("support_type_scope")
    if isinstance(scope, str) and scope not in SUPPORT_TYPE_SCOPES:
        allowed = ", ".join(SUPPORT_TYPE_SCOPES)
        errors.append(
            f"Invalid setting `support_type_scope` = {scope!r}: expected one of "
            f"{allowed}."
        )
    sideloads = config.get("sideloads") or []
    if isinstance(sideloads, list | tuple):
        unknown = [name for name in sideloads if name not in SIDELOADS]
        if unknown:
            errors.append(
                f"Invalid setting `sideloads` = {list(sideloads)!r}: unknown "
                f"{unknown!r}; expected any of {', '.join(SIDELOADS)}."
            )
    return errors
