"""The operator's importer (数据导入, docs/decisions/0036): upload a national system export to a city's
stack (the local one or a deployed one), run the dry run, show its report, and with ``--apply`` run
the import for real, following it with a progress bar.

    python -m tools.importer FILE --kind units --city jiangmen --api http://127.0.0.1:8000 --token "$T" [--apply]

The token is an admin's (``make -s token ROLE=admin`` locally). Exit status: 0 done, 1 the file or a
step was refused (the reason printed), 2 rows were refused (the report printed; ``--apply`` still
imports the good rows). Only the API's routes are used: the same as an admin's app.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import requests

KINDS = ("estates", "buildings", "units", "tenants")
DONE = {"dry_run": "dry_run_done", "apply": "applied"}


class Refused(Exception):
    pass


class Api:
    def __init__(self, base: str, token: str, timeout: float = 30.0) -> None:
        self.base, self.timeout = base.rstrip("/"), timeout
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(method, self.base + path, json=body, headers=self.headers, timeout=self.timeout)
        data = response.json() if response.content else None
        if response.status_code >= 400:
            error = (data or {}).get("error", {})
            raise Refused(f"{method} {path}: {response.status_code} {error.get('code', '')} {error.get('message', '')}")
        return data


def upload(api: Api, path: Path, kind: str) -> str:
    fmt = "xlsx" if path.suffix.lower() == ".xlsx" else "csv"
    created = api.call("POST", "/v1/admin/imports", {"kind": kind, "format": fmt, "file_name": path.name[:200]})
    form = created["upload"]
    with path.open("rb") as handle:  # streamed from disk by requests, not read whole
        response = requests.post(form["url"], data=form["fields"], files={"file": (path.name, handle)}, timeout=600)
    if response.status_code not in (200, 201, 204):
        raise Refused(f"upload refused by storage: {response.status_code} {response.text[:300]}")
    return str(created["import"]["import_id"])


def follow(api: Api, import_id: str, phase: str, console: Any) -> dict[str, Any]:
    """Start a run and follow it to its end with a progress bar (chunks done of chunks)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    api.call("POST", f"/v1/admin/imports/{import_id}/{'dry-run' if phase == 'dry_run' else 'apply'}")
    label = "试运行" if phase == "dry_run" else "正式导入"
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("已读 {task.fields[rows]} 行，拒绝 {task.fields[refused]}"), TimeElapsedColumn(),
                  console=console) as bar:
        task = bar.add_task(label, total=None, rows=0, refused=0)
        while True:
            found = api.call("GET", f"/v1/admin/imports/{import_id}")
            progress = found.get(phase) or {}
            bar.update(task, total=progress.get("chunks"), completed=progress.get("chunks_done", 0),
                       rows=progress.get("rows_read", 0), refused=progress.get("refused", 0))
            if found["status"] in (DONE[phase], "failed"):
                return dict(found)
            time.sleep(1)


def show(found: dict[str, Any], phase: str, console: Any, api: Api) -> None:
    from rich.table import Table

    progress = found.get(phase) or {}
    counts = Table(title=f"{'试运行' if phase == 'dry_run' else '正式导入'}：{found['import_id']}（{found['status_name']}）")
    for name in ("已读行数", "新建", "更新", "未变", "拒绝"):
        counts.add_column(name, justify="right")
    counts.add_row(*(str(progress.get(k, 0)) for k in ("rows_read", "created", "updated", "unchanged", "refused")))
    console.print(counts)
    if found.get("reason"):
        console.print(f"[red]失败原因：{found['reason']}")
    if found.get("errors_preview"):
        errors = Table(title="被拒绝的行（前 20 行）")
        for name in ("行号", "列", "错误代码", "说明"):
            errors.add_column(name)
        for e in found["errors_preview"]:
            errors.add_row(str(e["row"]), e["column"], e["code"], e["message"])
        console.print(errors)
        link = api.call("GET", f"/v1/admin/imports/{found['import_id']}/report")
        console.print(f"完整报告（{link['download']['expires_at']} 前有效）：{link['download']['url']}")


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console

    parser = argparse.ArgumentParser(prog="python -m tools.importer", description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--kind", choices=KINDS, required=True)
    parser.add_argument("--city", required=True, help="the city the stack must be (checked against /v1/health)")
    parser.add_argument("--api", required=True, help="the stack's API base, e.g. http://127.0.0.1:8000")
    parser.add_argument("--token", required=True, help="an admin's bearer token")
    parser.add_argument("--apply", action="store_true", help="after the dry run, import for real")
    args = parser.parse_args(argv)
    console = Console()
    api = Api(args.api, args.token)
    try:
        city = api.call("GET", "/v1/health")["city"]
        if city != args.city:
            raise Refused(f"the API at {args.api} serves {city}, not {args.city}")
        if not args.file.is_file():
            raise Refused(f"no such file: {args.file}")
        import_id = upload(api, args.file, args.kind)
        console.print(f"已上传 {args.file.name}：导入任务 {import_id}")
        found = follow(api, import_id, "dry_run", console)
        show(found, "dry_run", console, api)
        if found["status"] == "failed":
            return 1
        if args.apply:
            found = follow(api, import_id, "apply", console)
            show(found, "apply", console, api)
            if found["status"] == "failed":
                return 1
        refused = (found.get("apply") or found.get("dry_run") or {}).get("refused", 0)
        return 2 if refused else 0
    except (Refused, requests.RequestException) as exc:
        console.print(f"[red]{exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
