"""`make walkthrough` (the README's applying journey) runs green over real HTTP against the local
server, with the queue workers draining in the background as under `make run`."""
from __future__ import annotations

import threading
from typing import Any, Iterator

import pytest


@pytest.fixture()
def server(stack: Any, local_server: str) -> Iterator[str]:
    """The local server with the queue workers polling in the background, as under `make run`."""
    from devstack.__main__ import _run_workers

    stop = threading.Event()
    drainer = threading.Thread(target=_run_workers, args=(stack, stop), daemon=True)
    drainer.start()
    yield local_server
    stop.set()
    drainer.join(5)


def test_walkthrough_runs_end_to_end(server: str, stack: Any, capsys: Any) -> None:
    from devstack.walkthrough import Walk

    state = {"endpoint": stack.endpoint, "pool_id": stack.identity.pool_id, "client_id": stack.identity.client_id,
             "users": stack.identity.users, "city": stack.city}
    Walk(server, state).run()
    out = capsys.readouterr().out
    assert "完成" in out and "-> 500" not in out
    assert "/submit -> 200" in out and "-> 403   # 撤销后不能再看" in out
