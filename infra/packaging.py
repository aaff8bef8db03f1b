"""The code Chalice packages for Lambda: a staging copy of the app with dependencies built for the
Lambda runtime (python3.13, x86_64), not for the interpreter that runs the synth (3.11 here).

Chalice takes the runtime from the packaging interpreter and cannot fetch native wheels for another
Python, but it ships ``vendor/`` as is. So each synth stages ``build/lambda/<city>/``:

- ``app.py``, ``chalicelib/`` and ``.chalice/config.json`` copied from the repo (fresh every time);
- an empty ``requirements.txt`` (Chalice then installs nothing itself);
- ``vendor/``: every wheel that the repo's runtime ``requirements.txt`` resolves to for cp313
  manylinux x86_64, fetched by ``pip download --platform ... --python-version 3.13`` into
  ``build/wheels/cp313/<key>/`` (kept: a later synth or test with the same requirements does not
  touch the network) and unpacked;
- bytecode for python3.13 beside both (``__pycache__/*.cpython-313.pyc``, unchecked-hash): Lambda's
  code directory is read-only, so a package without it compiles every module it imports on every
  cold start. Compiled by a python3.13 interpreter when the machine has one (``LAMBDA_PYTHON``, else
  ``python3.13`` on the PATH or in pyenv); without one the package is built without bytecode.

See docs/decisions/0004-runtime-packaging.md.
"""
from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = REPO_ROOT / "build"

#: The Lambda runtime the functions run on, and what its dependencies must be built for.
LAMBDA_RUNTIME = "python3.13"
PYTHON_VERSION = "3.13"
ABI = "cp313"
#: The python3.13 runtime is Amazon Linux 2023 (glibc 2.34); x86_64 is Chalice's default architecture.
PLATFORMS = ("manylinux_2_34_x86_64", "manylinux_2_28_x86_64", "manylinux2014_x86_64")
ABIS = (ABI, "abi3", "none")

WHEEL_CACHE = BUILD_DIR / "wheels" / ABI
#: What the staging copy takes from the repo. Everything else (tests, infra, devstack...) stays out.
APP_FILES = ("app.py",)
APP_DIRS = ("chalicelib",)
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".DS_Store")
_COMPLETE = ".complete"
#: The bytecode Lambda can use without a writable code directory: hash-based, never checked against
#: the source (the staged copy is rebuilt from the repo on every synth, so the two cannot drift).
BYTECODE_MODE = "unchecked-hash"


class PackagingError(RuntimeError):
    pass


def runtime_requirements(root: Path = REPO_ROOT) -> list[str]:
    """Requirement lines of the repo's runtime requirements.txt (comments and blanks dropped)."""
    lines = []
    for line in (root / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def _pip_target_args() -> list[str]:
    args = ["--only-binary=:all:", "--implementation", "cp", "--python-version", PYTHON_VERSION]
    for platform in PLATFORMS:
        args += ["--platform", platform]
    for abi in ABIS:
        args += ["--abi", abi]
    return args


def wheel_key(requirements: list[str]) -> str:
    """Cache key: the requirements and the target they are fetched for."""
    material = json.dumps({"requirements": sorted(requirements), "target": _pip_target_args()})
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def fetch_wheels(requirements: list[str] | None = None, cache: Path = WHEEL_CACHE) -> Path:
    """The directory holding the cp313 wheels of ``requirements``, downloading them once."""
    requirements = runtime_requirements() if requirements is None else requirements
    target = cache / wheel_key(requirements)
    if (target / _COMPLETE).is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".fetch-", dir=cache))
    try:
        req_file = tmp / "requirements.txt"
        req_file.write_text("\n".join(requirements) + "\n", encoding="utf-8")
        wheels = tmp / "wheels"
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
               *_pip_target_args(), "-r", str(req_file), "-d", str(wheels)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise PackagingError(
                f"pip could not fetch {LAMBDA_RUNTIME} wheels for {', '.join(requirements)}"
                f" (every runtime dependency needs a binary wheel for cp313 manylinux x86_64 or a"
                f" pure-Python wheel):\n{done.stderr.strip()[-4000:]}"
            )
        names = sorted(p.name for p in wheels.glob("*.whl"))
        if not names and requirements:
            raise PackagingError("pip downloaded no wheels")
        (wheels / _COMPLETE).write_text("\n".join(names) + "\n", encoding="utf-8")
        try:
            wheels.rename(target)
        except OSError:
            if not (target / _COMPLETE).is_file():  # not a concurrent fetch that won: a real error
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def unpack_wheel(wheel: Path, dest: Path) -> None:
    """Install a wheel by unpacking it (what pip does for a --target install, minus scripts and
    bytecode). ``<name>.data/purelib|platlib`` go to the top; scripts, headers and data are dropped."""
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            name = info.filename
            if info.is_dir():
                continue
            top, _, rest = name.partition("/")
            if top.endswith(".data"):
                kind, _, rest = rest.partition("/")
                if kind not in ("purelib", "platlib") or not rest:
                    continue
                name = rest
            out = (dest / name).resolve()
            if dest.resolve() not in out.parents:
                raise PackagingError(f"{wheel.name}: unsafe path {info.filename}")
            out.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(out, mode | 0o644)


def _unpacked(wheels: Path, root: Path) -> Path:
    """The wheels unpacked (and compiled, when a python3.13 is here) once into ``root/<key>``, shared
    by every city's staging copy."""
    python = lambda_python()
    target = root / (wheels.name + ("-pyc" if python else ""))
    if (target / _COMPLETE).is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=root))
    try:
        for wheel in sorted(wheels.glob("*.whl")):
            unpack_wheel(wheel, tmp)
        compile_bytecode(tmp, python)
        (tmp / _COMPLETE).write_text(wheels.name + "\n")
        try:
            tmp.rename(target)
        except OSError:
            if not (target / _COMPLETE).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


@functools.cache
def lambda_python() -> str | None:
    """A python3.13 interpreter to compile the package's bytecode with (None: there is none here)."""
    candidates = [os.environ.get("LAMBDA_PYTHON"), shutil.which(f"python{PYTHON_VERSION}"),
                  *sorted(str(p) for p in Path.home().glob(f".pyenv/versions/{PYTHON_VERSION}.*/bin/python{PYTHON_VERSION}"))]
    for candidate in candidates:
        if not candidate:
            continue
        done = subprocess.run([candidate, "-c", "import sys; print(sys.implementation.cache_tag)"],
                              capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip() == f"cpython-{ABI[2:]}":
            return candidate
    return None


def compile_bytecode(path: Path, python: str | None) -> bool:
    """``path``'s modules compiled for the Lambda runtime (False: no such interpreter here)."""
    if python is None:
        return False
    done = subprocess.run([python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", BYTECODE_MODE,
                           str(path)], capture_output=True, text=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""})
    if done.returncode != 0:
        raise PackagingError(f"compiling {path} for {LAMBDA_RUNTIME} failed:\n{(done.stdout + done.stderr)[-4000:]}")
    return True


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _build_vendor(staging: Path, wheels: Path, unpacked_root: Path) -> None:
    """vendor/ from the wheels (hard links to one unpacked copy), redone only when they change."""
    vendor = staging / "vendor"
    marker = staging / ".vendor-key"  # outside vendor/: everything in vendor/ ships
    source = _unpacked(wheels, unpacked_root)
    key = source.name
    if vendor.is_dir() and marker.is_file() and marker.read_text().strip() == key:
        return
    shutil.rmtree(vendor, ignore_errors=True)
    marker.unlink(missing_ok=True)
    shutil.copytree(source, vendor, copy_function=_link_or_copy, ignore=shutil.ignore_patterns(_COMPLETE))
    marker.write_text(key + "\n")


def _stage_chalice_config(root: Path, staging: Path, stage: str) -> None:
    """The repo's .chalice/config.json plus an entry for the CDK stage.

    The entry takes the ``dev`` stage's per-function settings (``lambda_functions``) but none of
    its environment: each city's stage_config (from the CDK stack) supplies that and wins over
    this file. IAM is managed in CDK, so no policy file is generated.
    """
    config = json.loads((root / ".chalice" / "config.json").read_text(encoding="utf-8"))
    stages = config.setdefault("stages", {})
    base: dict[str, Any] = copy.deepcopy(stages.get("dev", {}))
    base.pop("environment_variables", None)
    stages[stage] = base
    out = staging / ".chalice"
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _share_deployments(staging: Path, shared: Path, keep: int = 3) -> None:
    """Chalice caches its zip in .chalice/deployments/ under a hash of app files + vendor/, which
    are the same for every city: one cache for all cities zips the ~60 MB once per code change.
    Only the newest few zips are kept."""
    shared.mkdir(parents=True, exist_ok=True)
    link = staging / ".chalice" / "deployments"
    if not link.is_symlink():
        shutil.rmtree(link, ignore_errors=True)
        link.symlink_to(shared, target_is_directory=True)
    zips = sorted(shared.glob("*.zip"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in zips[keep:]:
        old.unlink(missing_ok=True)


def chalice_workdir(city: str, build_dir: Path = BUILD_DIR) -> Path:
    """Where Chalice's CDK construct may write ``chalice.out/`` (it uses the working directory)."""
    return build_dir / "chalice-out" / city


def stage_project(city: str, stage: str, root: Path = REPO_ROOT, build_dir: Path = BUILD_DIR) -> Path:
    """Build ``build/lambda/<city>/``, the project directory Chalice packages for this city."""
    wheels = fetch_wheels(runtime_requirements(root), cache=build_dir / "wheels" / ABI)
    staging = build_dir / "lambda" / city
    staging.mkdir(parents=True, exist_ok=True)
    for name in APP_FILES:
        shutil.copy2(root / name, staging / name)
    for name in APP_DIRS:
        shutil.rmtree(staging / name, ignore_errors=True)
        shutil.copytree(root / name, staging / name, ignore=_IGNORE)
    _stage_chalice_config(root, staging, stage)
    _share_deployments(staging, build_dir / "lambda" / ".deployments")
    # Chalice must install nothing itself: it would resolve for the synth's Python (3.11).
    (staging / "requirements.txt").write_text(
        "# Empty on purpose: dependencies are in vendor/, built for "
        f"{LAMBDA_RUNTIME} (infra/packaging.py).\n",
        encoding="utf-8",
    )
    _build_vendor(staging, wheels, build_dir / "lambda" / ".vendor")
    python = lambda_python()
    for name in APP_DIRS:
        compile_bytecode(staging / name, python)
    return staging
