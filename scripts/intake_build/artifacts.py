"""Zips the functions and the layer into build/<content hash>/, the S3 prefix they deploy under.

The prefix changes whenever any artifact changes, so CloudFormation sees new code on every real change.
"""

from __future__ import annotations

import compileall
import hashlib
import py_compile
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ("validate", "thumbnail", "index", "notify", "api")
# Deployed with the zips: the template includes it as the REST API's Body (AWS::Include).
OPENAPI = ROOT / "infra" / "cloudformation" / "openapi.yaml"
# Third-party packages the layer ships (boto3 is in the Lambda runtime already).
LAYER_REQUIREMENTS = ("aws-lambda-powertools[parser]>=3.0", "pillow>=11.0", "pydantic>=2.7")
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # reproducible zips: same content, same hash


@dataclass(frozen=True)
class Artifacts:
    directory: Path
    prefix: str  # content hash; the S3 prefix
    files: dict[str, Path]  # "layer.zip", "validate.zip", ...


def _zip_tree(source: Path, target: Path, arcroot: str = "") -> None:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(source.rglob("*")):
            if path.is_dir():
                continue
            info = zipfile.ZipInfo(f"{arcroot}{path.relative_to(source).as_posix()}", _FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())


def _layer_tree(staging: Path, *, dependencies: bool, architecture: str) -> Path:
    python = staging / "python"
    python.mkdir(parents=True)
    shutil.copytree(
        ROOT / "shared" / "intake", python / "intake", ignore=shutil.ignore_patterns("__pycache__")
    )
    if dependencies:
        platform = "manylinux2014_x86_64" if architecture == "x86_64" else "manylinux2014_aarch64"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--target",
                str(python),
                "--platform",
                platform,
                "--implementation",
                "cp",
                "--python-version",
                "3.12",
                "--only-binary=:all:",
                "--upgrade",
                *LAYER_REQUIREMENTS,
            ],
            check=True,
        )
        for junk in ("bin", "*.dist-info/RECORD"):
            for path in python.glob(junk):
                shutil.rmtree(path) if path.is_dir() else path.unlink()
    return python


def build(out: Path | None = None, *, dependencies: bool = False, architecture: str = "x86_64") -> Artifacts:
    """Build every artifact. `dependencies` adds the third-party wheels (for AWS; the local cloud
    runs the functions in this venv, which has them)."""
    out = out or ROOT / "build"
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp)
        zips: dict[str, Path] = {}
        layer = _layer_tree(staging / "layer", dependencies=dependencies, architecture=architecture)
        compileall.compile_dir(
            layer, quiet=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
        )
        zips["layer.zip"] = staging / "layer.zip"
        _zip_tree(layer.parent, zips["layer.zip"])
        for name in FUNCTIONS:
            zips[f"{name}.zip"] = staging / f"{name}.zip"
            _zip_tree(ROOT / "functions" / name, zips[f"{name}.zip"])
        zips[OPENAPI.name] = OPENAPI
        digest = hashlib.sha256()
        for name in sorted(zips):
            digest.update(name.encode() + zips[name].read_bytes())
        prefix = f"{architecture}-{'full' if dependencies else 'lite'}-{digest.hexdigest()[:16]}"
        directory = out / prefix
        directory.mkdir(parents=True, exist_ok=True)
        files = {}
        for name, path in zips.items():
            files[name] = directory / name
            shutil.copyfile(path, files[name])
    return Artifacts(directory=directory, prefix=prefix, files=files)
