"""`make token ROLE=staff`: print a demo user's ID token from the running local stack."""
from __future__ import annotations

import argparse
import json
import sys

from devstack.__main__ import STATE_FILE
from devstack.aws import id_token


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devstack.token")
    parser.add_argument("role", choices=["applicant", "employer", "staff", "admin", "auditor", "ministry"])
    parser.add_argument("--aws-port", type=int, default=None, help="ignored: read from .local/stack.json")
    args = parser.parse_args(argv)
    if not STATE_FILE.exists():
        print("本地环境未运行：请先在另一个终端执行 make run", file=sys.stderr)
        return 1
    state = json.loads(STATE_FILE.read_text())
    print(id_token(state["endpoint"], state["client_id"], state["users"][args.role]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
