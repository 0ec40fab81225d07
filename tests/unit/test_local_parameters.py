"""`make up ARGS="--param Key=Value ..."` and `make demo ARGS=...`: the template parameters the local
cloud is started with, parsed and checked as `make deploy` does, on top of the local defaults, and
never the local cloud's own wiring."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from demo.__main__ import parse_arguments
from demo.parameters import local_parameters
from intake_build import deploy
from localcloud.cloud import WIRED_PARAMETERS, LocalCloud

HEIC = "image/jpeg,image/png,image/webp,image/gif,image/heic,image/heif,image/avif"


def test_params_and_files_mean_what_they_mean_for_make_deploy(tmp_path: Path) -> None:
    file = tmp_path / "p.json"
    file.write_text(json.dumps({"FunctionTimeout": "5", "LogRetentionDays": "7"}))
    args, parameters = parse_arguments(
        [
            "up",
            "--param",
            f"AllowedContentTypes={HEIC}",
            "--param",
            "FunctionTimeout=4",
            "--params-file",
            str(file),
        ]
    )
    assert args.command == "up"
    assert parameters == {"AllowedContentTypes": HEIC, "FunctionTimeout": "4", "LogRetentionDays": "7"}
    assert parse_arguments(["run"])[1] == {}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--param", "AllowedContentTypes"], "--param takes Key=Value"),
        (["--param", "=image/heic"], "--param takes Key=Value"),
        (["--param", "AllowedTypes=image/heic"], "unknown parameter(s) AllowedTypes; the template has"),
        (["--param", "CdnUrlOverride=http://elsewhere"], "CdnUrlOverride: the local cloud sets this itself"),
        (["--param", "WebOrigin=https://example.com"], "WebOrigin: the local cloud sets this itself"),
        (["--param", "ArtifactPrefix=x"], "ArtifactPrefix: the local cloud sets this itself"),
        (
            ["--param", "AllowedContentTypes=image/jpeg,text/plain"],
            "AllowedContentTypes='image/jpeg,text/plain'",
        ),
        (["--param", "FunctionTimeout=soon"], "FunctionTimeout='soon' is not a number"),
        (["--param", "MaxReceiveCount=1"], "MaxReceiveCount=1: outside 5.."),
        (["--param", "TableDeletionProtection=maybe"], "is not one of true, false"),
    ],
)
def test_a_bad_parameter_is_a_clear_error_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in ("up", "run"):
        with pytest.raises(SystemExit) as exited:
            parse_arguments([command, *argv])
        assert exited.value.code == 2
        assert message in capsys.readouterr().err


def test_every_default_of_the_template_passes_its_own_constraints() -> None:
    """The value checks read the template's constraints as CloudFormation does: its defaults pass."""
    text = deploy.TEMPLATE.read_text()
    specs = deploy._template_parameters(text)
    deploy.check_values({n: str(s["Default"]) for n, s in specs.items() if "Default" in s}, text)


def test_the_wiring_is_refused_by_the_local_cloud_itself_too() -> None:
    assert {"WebOrigin", "CdnUrlOverride", "ArtifactBucket", "SigningPublicKey"} <= set(WIRED_PARAMETERS)
    with pytest.raises(ValueError, match="the local cloud sets CdnUrlOverride itself"):
        LocalCloud(object(), parameters={"CdnUrlOverride": "http://127.0.0.1:9"})  # type: ignore[arg-type]
    with pytest.raises(deploy.DeployError, match="CdnUrlOverride"):
        local_parameters(["CdnUrlOverride=http://127.0.0.1:9"])
