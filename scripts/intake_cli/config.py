"""Where the `intake` CLI keeps its settings and tokens, and how it finds the API and Cognito ids.

Files live in `$INTAKE_CONFIG_DIR`, else `$XDG_CONFIG_HOME/intake`, else `~/.config/intake`:
`config.json` (API URL, region, user pool and client ids, Cognito endpoint), `tokens.json`
(the Cognito tokens, readable by the user only) and `uploads/` (the open multipart uploads, one
state file per local file, for `intake upload FILE --resume`).

The ids are discovered, in order, from: explicit options; the `/config.js` the API front serves
(the same file the browser page reads); the CloudFormation stack's outputs.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import requests
from botocore.exceptions import BotoCoreError

from intake_cli.errors import IntakeError
from intake_tools import webconfig
from intake_tools.session import LOCAL_REGION, Target, local_endpoint
from intake_tools.stack import StackNotFound, read_stack
from intake_tools.webconfig import WEB_CONFIG_KEYS

LOCAL_API_URL = "http://127.0.0.1:3000"
DEFAULT_STACK = "intake"


class ConfigError(IntakeError):
    """A setting is missing or cannot be discovered; the message says what to do."""


def config_dir() -> Path:
    if explicit := os.environ.get("INTAKE_CONFIG_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "intake"


def uploads_dir() -> Path:
    """Where the open multipart uploads are remembered, one state file per local file (--resume)."""
    return config_dir() / "uploads"


def cognito_endpoint_for(region: str) -> str:
    return f"https://cognito-idp.{region}.amazonaws.com/"


def is_local(url: str) -> bool:
    return (urlparse(url).hostname or "") in {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class Settings:
    api_url: str
    region: str
    user_pool_id: str
    client_id: str
    cognito_endpoint: str


@dataclass(frozen=True)
class Tokens:
    email: str
    id_token: str
    access_token: str
    refresh_token: str | None


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc} (delete it and run `intake login` again)") from exc
    return data if isinstance(data, dict) else None


def _write_json(path: Path, data: dict[str, Any], private: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    # Created 0600 from the start, so tokens are never readable by others, even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)
    tmp.replace(path)


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def load_settings() -> Settings | None:
    data = _read_json(config_dir() / "config.json")
    try:
        return Settings(**_known(Settings, data)) if data else None
    except TypeError as exc:
        raise ConfigError(f"{config_dir() / 'config.json'} is incomplete: run `intake login`") from exc


def save_settings(settings: Settings) -> None:
    _write_json(config_dir() / "config.json", asdict(settings))


def load_tokens() -> Tokens | None:
    data = _read_json(config_dir() / "tokens.json")
    try:
        return Tokens(**_known(Tokens, data)) if data else None
    except TypeError as exc:
        raise ConfigError("the saved sign-in is incomplete: run `intake login`") from exc


def save_tokens(tokens: Tokens) -> None:
    _write_json(config_dir() / "tokens.json", asdict(tokens), private=True)


def clear_tokens() -> None:
    (config_dir() / "tokens.json").unlink(missing_ok=True)


# --- discovery ------------------------------------------------------------------------------------

# Our name -> its stack output; its key in config.js is webconfig's name for that output.
_OUTPUTS = {
    "api_url": "ApiUrl",
    "user_pool_id": "UserPoolId",
    "client_id": "UserPoolClientId",
    "cognito_endpoint": "CognitoEndpoint",
}
_CONFIG_JS_KEYS = {name: WEB_CONFIG_KEYS[output] for name, output in _OUTPUTS.items()} | {"region": "region"}


def parse_config_js(text: str) -> dict[str, str]:
    """The settings in `window.INTAKE_CONFIG = {...};` (JSON inside), by our names."""
    try:
        data = webconfig.parse_config_js(text)
    except webconfig.BadConfigJs as exc:
        raise ConfigError(str(exc)) from exc
    return {name: data[key] for name, key in _CONFIG_JS_KEYS.items() if data.get(key)}


def region_of_pool(user_pool_id: str) -> str | None:
    region, sep, _ = user_pool_id.partition("_")
    return region if sep and region else None


def from_config_js(url: str, timeout_s: float = 10) -> dict[str, str]:
    try:
        response = requests.get(url, timeout=timeout_s)
    except requests.RequestException as exc:
        raise ConfigError(f"cannot fetch {url}: {exc.__class__.__name__}") from exc
    if response.status_code != 200:
        raise ConfigError(f"cannot fetch {url}: HTTP {response.status_code}")
    return parse_config_js(response.text)


def from_stack(stack: str, *, profile: str | None, region: str | None, local: bool) -> dict[str, str]:
    """The ids from the stack outputs (on the local cloud its ApiUrl and CognitoEndpoint are AWS's forms,
    not where the local front and Cognito listen, so only the ids are taken there)."""
    target = Target.local(stack=stack) if local else Target.aws(profile=profile, region=region, stack=stack)
    try:
        outputs = read_stack(target).outputs
    except (StackNotFound, BotoCoreError) as exc:
        raise ConfigError(f"cannot read the outputs of stack {stack!r}: {exc}") from exc
    names = ["user_pool_id", "client_id"] if local else list(_OUTPUTS)
    return {name: outputs[_OUTPUTS[name]] for name in names if outputs.get(_OUTPUTS[name])}


def discover(
    *,
    api_url: str | None,
    region: str | None = None,
    profile: str | None = None,
    user_pool_id: str | None = None,
    client_id: str | None = None,
    cognito_endpoint: str | None = None,
    stack: str = DEFAULT_STACK,
) -> Settings:
    """Complete the settings: explicit values win, then the API's config.js, then the stack outputs.

    With no API URL, a profile or region means AWS (the stack outputs give the URL); otherwise the
    local cloud at http://127.0.0.1:3000.
    """
    on_aws = not is_local(api_url) if api_url else bool(profile or region)
    explicit = {
        "api_url": api_url,
        "region": region,
        "user_pool_id": user_pool_id,
        "client_id": client_id,
        "cognito_endpoint": cognito_endpoint,
    }
    found: dict[str, str] = {}
    problems: list[str] = []
    if not (user_pool_id and client_id):
        if api_url or not on_aws:
            try:
                found = from_config_js(f"{(api_url or LOCAL_API_URL).rstrip('/')}/config.js")
            except ConfigError as exc:
                problems.append(str(exc))
        if not (found.get("user_pool_id") and found.get("client_id")):
            try:
                found = {**from_stack(stack, profile=profile, region=region, local=not on_aws), **found}
            except ConfigError as exc:
                problems.append(str(exc))
    merged = {**found, **{k: v for k, v in explicit.items() if v}}
    if not merged.get("api_url") and on_aws:
        raise ConfigError(f"no API URL: pass --api-url ({'; '.join(problems) or 'the stack has no ApiUrl'})")
    merged["api_url"] = (merged.get("api_url") or LOCAL_API_URL).rstrip("/")
    if not merged.get("user_pool_id") or not merged.get("client_id"):
        hint = "pass --user-pool-id and --client-id" if on_aws else "is the local cloud running (`make up`)?"
        raise ConfigError(f"cannot find the Cognito user pool: {'; '.join(problems)}; {hint}")
    merged["region"] = merged.get("region") or region_of_pool(merged["user_pool_id"]) or LOCAL_REGION
    if not merged.get("cognito_endpoint"):
        merged["cognito_endpoint"] = cognito_endpoint_for(merged["region"]) if on_aws else local_endpoint()
    return Settings(
        api_url=merged["api_url"],
        region=merged["region"],
        user_pool_id=merged["user_pool_id"],
        client_id=merged["client_id"],
        cognito_endpoint=merged["cognito_endpoint"],
    )
