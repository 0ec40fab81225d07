"""Zips the functions and the layer into build/<prefix>/, the S3 prefix they deploy under.

The prefix ends in a content hash, so it changes whenever any artifact changes and CloudFormation sees
new code on every real change (and only then).

For AWS (`dependencies=True`) the layer holds `python/intake` plus the third-party packages installed
from manylinux wheels for the Lambda runtime's Python and the chosen architecture, exactly as pinned,
with hashes, in requirements/layer-<architecture>.txt (`make lock` writes it), stripped of what
Intake never loads, with `.pyc` compiled by an interpreter of that same Python version: a `.pyc` made
by another version is ignored at import, and Lambda's /opt and /var/task are read-only, so without
matching `.pyc` every cold start compiles every module from source.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from intake.aws import SERVICES
from intake.status import CONSUMERS

ROOT = Path(__file__).resolve().parents[2]
# One artifact per function, the consumers and the API: each is built, sized and deployed alike.
FUNCTIONS = (*CONSUMERS, "api")
# Deployed with the zips, under the same prefix: the REST API's Body (AWS::Include) and the child
# template of the consumers' nested stacks (their TemplateURL).
OPENAPI = ROOT / "infra" / "cloudformation" / "openapi.yaml"
CONSUMER_TEMPLATE = ROOT / "infra" / "cloudformation" / "consumer.yaml"
SHIPPED_TEMPLATES = (OPENAPI, CONSUMER_TEMPLATE)
RUNTIME_PYTHON = "3.12"  # the template's Runtime: python3.12
HOST_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
PLATFORMS = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}
# The third-party packages the layer ships (requirements/layer.in: the product's dependencies, boto3
# included), resolved for RUNTIME_PYTHON and each architecture by `make lock`; the
# hashes cover every wheel of each pinned version, so another --python-version works if its wheels exist.
LAYER_LOCKS = {arch: ROOT / "requirements" / f"layer-{arch}.txt" for arch in PLATFORMS}
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024  # function + all its layers, unzipped
# Never in the layer: big, and nothing of ours needs it (a dependency that pulls it in is a bug).
FORBIDDEN_PACKAGES = ("numpy",)
# Pillow extension modules Intake never loads: fonts (ImageFont) and Tk (_avif stays: AVIF uploads are
# decoded by it). Pillow imports each of them lazily and degrades to "unsupported", so removing them is
# safe; the bundled libraries only they need (freetype, harfbuzz, libpng, brotli) go with them.
PILLOW_UNUSED_MODULES = ("_imagingft", "_imagingtk")
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # reproducible zips: same content, same hash


class BuildError(RuntimeError):
    pass


@dataclass(frozen=True)
class Artifacts:
    directory: Path
    prefix: str  # "<arch>-py<ver>-<full|lite>-<content hash>"; the S3 prefix
    files: dict[str, Path]  # "layer.zip", "validate.zip", ..., "openapi.yaml", "consumer.yaml"
    architecture: str = "x86_64"
    python_version: str = HOST_PYTHON
    compiled_with: str | None = None  # interpreter that compiled the .pyc; None: sources only
    unzipped: dict[str, int] = field(default_factory=dict)  # bytes once extracted, per artifact

    def size_table(self) -> list[tuple[str, int, int]]:
        """(name, zipped bytes, unzipped bytes), layer first."""
        names = sorted(self.files, key=lambda n: (n != "layer.zip", n))
        sizes = [(n, self.files[n].stat().st_size) for n in names]
        return [(n, zipped, self.unzipped.get(n, zipped)) for n, zipped in sizes]


def _zip_tree(source: Path, target: Path, arcroot: str = "") -> int:
    """Zip `source` reproducibly; returns the unzipped size."""
    total = 0
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(source.rglob("*")):
            if path.is_dir():
                continue
            info = zipfile.ZipInfo(f"{arcroot}{path.relative_to(source).as_posix()}", _FIXED_TIME)
            # Shared libraries keep their execute bit, as pip installs them.
            info.external_attr = (0o755 if ".so" in path.name else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            data = path.read_bytes()
            total += len(data)
            archive.writestr(info, data)
    return total


# --- finding an interpreter for the runtime's Python version -----------------------------------


def _version_of(python: str) -> str | None:
    try:
        done = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def find_python(version: str) -> str | None:
    """An interpreter of `version` (e.g. "3.12") to compile `.pyc` with, or None.

    Looked for in order: this interpreter; $INTAKE_PYTHON_<major><minor> (e.g. INTAKE_PYTHON_312);
    `python<version>` on PATH; a pyenv install ($PYENV_ROOT or ~/.pyenv).
    """
    if version == HOST_PYTHON:
        return sys.executable
    candidates: list[str] = []
    explicit = os.environ.get(f"INTAKE_PYTHON_{version.replace('.', '')}")
    if explicit:
        candidates.append(explicit)
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(on_path)  # may be a pyenv shim that refuses: checked below
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += [str(p) for p in sorted(pyenv.glob(f"versions/{version}.*/bin/python{version}"))]
    return next((c for c in candidates if _version_of(c) == version), None)


# --- the layer ------------------------------------------------------------------------------------


def _pip_install(target: Path, *, architecture: str, python_version: str) -> None:
    lock = LAYER_LOCKS[architecture]
    if not lock.is_file():
        raise BuildError(f"{lock.relative_to(ROOT)} is missing: run `make lock`")
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",  # pip would compile with *this* interpreter; we compile with the runtime's
        "--target",
        str(target),
        "--platform",
        PLATFORMS[architecture],
        "--implementation",
        "cp",
        "--python-version",
        python_version,
        "--only-binary=:all:",
        "--require-hashes",  # and so every package must be in the lock: pip fails on a missing one
        "--requirement",
        str(lock),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BuildError(
            f"pip could not install the layer's wheels from {lock.relative_to(ROOT)}:\n{done.stderr.strip()}"
        )


def _remove(paths: Iterable[Path]) -> None:
    for path in list(paths):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def elf_needed(path: Path) -> list[str]:
    """DT_NEEDED entries of an ELF shared object (what `readelf -d` lists as NEEDED)."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF":
        return []
    wide, order = data[4] == 2, "<" if data[5] == 1 else ">"
    if wide:
        (shoff,) = struct.unpack_from(order + "Q", data, 0x28)
        shentsize, shnum = struct.unpack_from(order + "HH", data, 0x3A)
        section, dyn = order + "IIQQQQIIQQ", order + "qQ"
    else:
        (shoff,) = struct.unpack_from(order + "I", data, 0x20)
        shentsize, shnum = struct.unpack_from(order + "HH", data, 0x2E)
        section, dyn = order + "IIIIIIIIII", order + "iI"
    sections = [struct.unpack_from(section, data, shoff + i * shentsize) for i in range(shnum)]
    needed = []
    for _name, kind, _flags, _addr, offset, size, link, _info, _align, entsize in sections:
        if kind != 6:  # SHT_DYNAMIC
            continue
        strtab_offset = sections[link][4]
        for at in range(offset, offset + size, entsize):
            tag, value = struct.unpack_from(dyn, data, at)
            if tag == 0:  # DT_NULL
                break
            if tag == 1:  # DT_NEEDED
                start = strtab_offset + value
                needed.append(data[start : data.index(b"\0", start)].decode())
    return needed


def _strip_pillow(site: Path) -> None:
    """Drop the Pillow modules we never load, then every bundled library nothing left needs."""
    pil, libs = site / "PIL", site / "pillow.libs"
    if not pil.is_dir():
        return
    for module in PILLOW_UNUSED_MODULES:
        _remove(pil.glob(f"{module}.*.so"))
    if not libs.is_dir():
        return
    wanted: set[str] = set()
    queue = [p for p in pil.glob("*.so")]
    while queue:
        for name in elf_needed(queue.pop()):
            if name not in wanted and (libs / name).exists():
                wanted.add(name)
                queue.append(libs / name)
    _remove(p for p in libs.iterdir() if p.name not in wanted)


def _service_model(service_dir: Path) -> dict[str, object]:
    """The newest API version's service-2.json of one botocore/data/<service> (plain or gzipped)."""
    newest = sorted(p for p in service_dir.iterdir() if p.is_dir())[-1]
    plain, packed = newest / "service-2.json", newest / "service-2.json.gz"
    text = plain.read_bytes() if plain.is_file() else gzip.decompress(packed.read_bytes())
    return json.loads(text)  # type: ignore[no-any-return]


def _prune_sdk_data(site: Path) -> None:
    """Keep botocore's (and boto3's) data for intake.aws.SERVICES alone.

    A client's creation lists every service directory and parses endpoints.json (1.2 MB, every
    service in every partition): with ~450 services that was half of the first AWS call's CPU time.
    endpoints.json keeps every partition and region, with the services we call in each.
    """
    data = site / "botocore" / "data"
    if not data.is_dir():
        return
    missing = [s for s in SERVICES if not (data / s).is_dir()]
    if missing:
        raise BuildError(f"botocore has no model for {', '.join(missing)} (intake.aws.SERVICES)")
    prefixes = set(SERVICES)
    for service in SERVICES:
        metadata = _service_model(data / service)["metadata"]
        prefixes.add(metadata["endpointPrefix"])  # type: ignore[index]
    _remove(p for p in data.iterdir() if p.is_dir() and p.name not in SERVICES)
    _remove(p for p in (site / "boto3" / "data").glob("*") if p.name not in SERVICES)
    endpoints = json.loads((data / "endpoints.json").read_text())
    for partition in endpoints["partitions"]:
        partition["services"] = {k: v for k, v in partition["services"].items() if k in prefixes}
    (data / "endpoints.json").write_text(json.dumps(endpoints, separators=(",", ":")))


def _strip(site: Path) -> None:
    """Remove what the runtime never loads: scripts, stubs, tests, caches, most of dist-info."""
    found = [p for p in FORBIDDEN_PACKAGES if (site / p).exists()]
    if found:
        raise BuildError(f"the layer must not contain {', '.join(found)}: a dependency pulled it in")
    _remove([site / "bin"])
    _remove(site.rglob("__pycache__"))  # any .pyc here came from another interpreter
    _remove(p for p in site.rglob("*") if p.is_dir() and p.name in ("tests", "test"))
    _remove(p for p in site.rglob("*") if p.suffix == ".pyi" or p.name == "py.typed")
    for info in site.glob("*.dist-info"):
        # importlib.metadata needs METADATA; licenses must ship with the code.
        _remove(p for p in info.iterdir() if p.name != "METADATA" and "licen" not in p.name.lower())
    _strip_pillow(site)
    _prune_sdk_data(site)


def _layer_tree(staging: Path, *, dependencies: bool, architecture: str, python_version: str) -> Path:
    python = staging / "python"
    python.mkdir(parents=True)
    if dependencies:
        _pip_install(python, architecture=architecture, python_version=python_version)
        _strip(python)
    shutil.copytree(
        ROOT / "shared" / "intake", python / "intake", ignore=shutil.ignore_patterns("__pycache__")
    )
    return python


# Runs in the target interpreter. unchecked-hash: the .pyc is trusted without a stat of the source (mtimes
# in zips mean nothing); the embedded file names are the Lambda paths, so builds are reproducible and
# tracebacks name /opt/python/... and /var/task/....
_COMPILE = """
import compileall, json, py_compile, sys
mode = py_compile.PycInvalidationMode.UNCHECKED_HASH
trees = json.loads(sys.argv[1])
ok = all(compileall.compile_dir(d, quiet=1, stripdir=s, prependdir=p, workers=0, invalidation_mode=mode)
         for d, s, p in trees)
sys.exit(0 if ok else 1)
"""


def _compile(trees: Iterable[tuple[Path, str]], python: str) -> None:
    """Compile each (tree, path it has at run time)."""
    spec = json.dumps([(str(tree), str(tree), runtime) for tree, runtime in trees])
    done = subprocess.run([python, "-c", _COMPILE, spec], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BuildError(f"compileall failed:\n{done.stdout}{done.stderr}")


def _zipped(
    staging: Path, dependencies: bool, architecture: str, python_version: str, compiler: str | None
) -> tuple[dict[str, Path], dict[str, int]]:
    """The layer and function zips (plus the shipped templates) in `staging`, and their unzipped sizes."""
    layer = _layer_tree(
        staging / "layer",
        dependencies=dependencies,
        architecture=architecture,
        python_version=python_version,
    )
    functions = staging / "functions"
    for name in FUNCTIONS:
        shutil.copytree(
            ROOT / "functions" / name,
            functions / name,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
    if compiler:
        trees = [(layer, "/opt/python")] + [(functions / n, "/var/task") for n in FUNCTIONS]
        _compile(trees, compiler)
    zips: dict[str, Path] = {"layer.zip": staging / "layer.zip"}
    unzipped = {"layer.zip": _zip_tree(layer.parent, zips["layer.zip"])}
    for name in FUNCTIONS:
        zips[f"{name}.zip"] = staging / f"{name}.zip"
        unzipped[f"{name}.zip"] = _zip_tree(functions / name, zips[f"{name}.zip"])
    zips.update({path.name: path for path in SHIPPED_TEMPLATES})
    return zips, unzipped


def build(
    out: Path | None = None,
    *,
    dependencies: bool = False,
    architecture: str = "x86_64",
    python_version: str = HOST_PYTHON,
    require_pyc: bool = False,
) -> Artifacts:
    """Build every artifact.

    `dependencies` adds the third-party wheels for `python_version` and `architecture` (for AWS, use
    RUNTIME_PYTHON; the local cloud runs the functions in this venv, which has them). The `.pyc` are
    compiled by an interpreter of `python_version` (see find_python); if there is none, the build ships
    sources only, or fails with `require_pyc`.
    """
    if architecture not in PLATFORMS:
        raise BuildError(f"architecture must be one of {', '.join(PLATFORMS)}, not {architecture!r}")
    out = out or ROOT / "build"
    compiler = find_python(python_version)
    if compiler is None and require_pyc:
        raise BuildError(
            f"no Python {python_version} found to compile .pyc with: install one, or point"
            f" INTAKE_PYTHON_{python_version.replace('.', '')} at it"
        )
    with tempfile.TemporaryDirectory() as tmp:
        zips, unzipped = _zipped(Path(tmp), dependencies, architecture, python_version, compiler)
        digest = hashlib.sha256()
        for name in sorted(zips):
            digest.update(name.encode() + zips[name].read_bytes())
        kind = "full" if dependencies else "lite"
        prefix = f"{architecture}-py{python_version.replace('.', '')}-{kind}-{digest.hexdigest()[:16]}"
        directory = out / prefix
        directory.mkdir(parents=True, exist_ok=True)
        files = {}
        for name, path in zips.items():
            files[name] = directory / name
            shutil.copyfile(path, files[name])
    largest = max(unzipped[n] for n in zips if n.endswith(".zip") and n != "layer.zip")
    if dependencies and unzipped["layer.zip"] + largest > LAMBDA_UNZIPPED_LIMIT:
        raise BuildError(
            f"layer + function unzip to {(unzipped['layer.zip'] + largest) / 2**20:.1f} MiB,"
            f" over Lambda's {LAMBDA_UNZIPPED_LIMIT / 2**20:.0f} MiB limit"
        )
    return Artifacts(
        directory=directory,
        prefix=prefix,
        files=files,
        architecture=architecture,
        python_version=python_version,
        compiled_with=compiler,
        unzipped=unzipped,
    )


def _size(n: int) -> str:
    return f"{n / 2**20:8.2f} MiB" if n >= 2**20 else f"{n / 1024:8.1f} KiB"


def print_sizes(artifacts: Artifacts) -> None:
    print(f"artifacts in {artifacts.directory}")
    print(f"  Python {artifacts.python_version}, {artifacts.architecture}")
    if artifacts.compiled_with:
        print(f"  .pyc compiled by {artifacts.compiled_with}")
    else:
        print(
            f"  WARNING: no Python {artifacts.python_version} found, so no .pyc: every cold start will"
            " compile the sources (see scripts/intake_build/artifacts.py find_python)"
        )
    print(f"  {'artifact':15} {'zipped':>12} {'unzipped':>12}")
    for name, zipped, unzipped in artifacts.size_table():
        print(f"  {name:15} {_size(zipped)} {_size(unzipped)}")
    layer = artifacts.unzipped.get("layer.zip", 0)
    print(
        f"  layer unzipped: {layer / LAMBDA_UNZIPPED_LIMIT:.1%} of Lambda's"
        f" {LAMBDA_UNZIPPED_LIMIT // 2**20} MiB limit (function + layers)"
    )
