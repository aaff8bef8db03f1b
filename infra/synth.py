"""Synthesize one city's CloudFormation template, without the CDK CLI.

    python -m infra.synth jiangmen        # -> cdk.out/jiangmen/public-housing-jiangmen.template.json

From Python: ``from infra.synth import synth; path = synth("jiangmen")``.
"""
from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

# Before jsii starts node: node 20 works (docs/decisions/0004), jsii's end-of-life banner is noise.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT_ROOT = REPO_ROOT / "cdk.out"


def synth(city: str, outdir: str | Path | None = None) -> Path:
    """Synthesize ``city``'s stack into ``cdk.out/<city>/`` (or ``outdir``); the template's path.
    A wrong city file (infra/cities/<city>.json or chalicelib/cities/<city>/*.json) fails here,
    naming the file and the field, before anything is built."""
    from infra.city_config import load_city

    config = load_city(city)
    check_app_city_files(config.code)

    import aws_cdk as cdk

    from infra.compliance import add_checks, is_validation_failure
    from infra.packaging import chalice_workdir
    from infra.stack import CityStack

    out = Path(outdir) if outdir is not None else OUT_ROOT / config.code
    with _build_lock():
        _clear(out)  # old assets would pile up
        out.mkdir(parents=True, exist_ok=True)
        app = cdk.App(outdir=str(out), analytics_reporting=False)
        stack = CityStack(app, config)
        add_checks(app)  # cdk-nag's AwsSolutions pack: its findings in <out>/validation-report.json
        try:
            app.synth()
        except RuntimeError as exc:  # the assembly is written all the same; the tests read the report
            if not is_validation_failure(exc):
                raise
        # Chalice's own output (SAM template, zip) is in the assembly now.
        shutil.rmtree(chalice_workdir(config.code), ignore_errors=True)
        return out / f"{stack.artifact_id}.template.json"


def check_app_city_files(city: str) -> None:
    """The app's data for the city (rules, documents, leases...), each file through its model."""
    from chalicelib.city_files import check_city

    check_city(city)


def _clear(out: Path) -> None:
    """Empty a previous cloud assembly; never a directory that is something else."""
    if not out.exists():
        return
    if out.is_dir() and (not any(out.iterdir()) or (out / "manifest.json").is_file()):
        shutil.rmtree(out)
        return
    raise FileExistsError(f"refusing to overwrite {out}: not empty and not a CDK cloud assembly")


@contextmanager
def _build_lock() -> Iterator[None]:
    """One synth at a time per checkout: they share build/ (staging copies, Chalice's zip cache)."""
    lock_path = REPO_ROOT / "build" / ".synth.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def main(argv: list[str] | None = None) -> int:
    from chalicelib.city_files import CityFileError
    from infra.city_config import CityConfigError, available_cities

    parser = argparse.ArgumentParser(prog="python -m infra.synth", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("city", help=f"one of: {', '.join(available_cities())}")
    parser.add_argument("--outdir", help="default: cdk.out/<city>")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        path = synth(args.city, args.outdir)
    except (CityConfigError, CityFileError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        shown = path.relative_to(Path.cwd())
    except ValueError:
        shown = path
    print(shown)
    print(f"synthesized {args.city} in {time.monotonic() - started:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
