"""One process's local AWS: moto's server on loopback, provisioned for a city, app settings bound.

Used by `make run`, the tests and the benchmarks alike::

    with LocalStack() as stack:
        token = stack.token("staff")
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from devstack import aws


@dataclass
class LocalStack:
    city: str = "jiangmen"
    city_name: str = "江门市"
    aws_port: int = 0  # 0: any free port
    host: str = "127.0.0.1"
    prefix: str = ""
    environment: dict[str, str] = field(default_factory=dict)
    identity: aws.LocalIdentity | None = None
    _server: Any = None
    _saved_env: dict[str, str | None] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        host, port = self._server.get_host_and_port()
        return f"http://{host}:{port}"

    def start(self) -> "LocalStack":
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address=self.host, port=self.aws_port, verbose=False)
        self._server.start()
        self.provision()
        return self

    def provision(self) -> None:
        """Create every table, the document bucket and the identity pool; bind the app to them."""
        prefix = self.prefix or f"{self.city}-"
        aws.create_tables(self.endpoint, prefix)
        bucket = f"{self.city}-documents"
        aws.create_bucket(self.endpoint, bucket)
        self.identity = aws.create_identity(self.endpoint, self.city)
        self.environment = aws.app_environment(self.endpoint, self.city, self.city_name, prefix, bucket,
                                               self.identity)
        self._apply_environment()

    def reset(self) -> None:
        """Empty the city: drop and recreate every table (users and bucket stay)."""
        ddb = aws.client("dynamodb", self.endpoint)
        for name in ddb.list_tables()["TableNames"]:
            ddb.delete_table(TableName=name)
        aws.create_tables(self.endpoint, self.prefix or f"{self.city}-")

    def token(self, role: str) -> str:
        assert self.identity is not None
        return aws.id_token(self.endpoint, self.identity.client_id, self.identity.users[role])

    def add_user(self, phone: str, role: str | None, city: str | None = None) -> str:
        """A further user (e.g. a second applicant, or staff of another city); returns the username."""
        assert self.identity is not None
        return aws.add_user(aws.client("cognito-idp", self.endpoint), self.identity, phone, role,
                            city or self.city)

    def token_for(self, username: str) -> str:
        assert self.identity is not None
        return aws.id_token(self.endpoint, self.identity.client_id, username)

    def _apply_environment(self) -> None:
        for key, value in self.environment.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value
        from chalicelib import auth, deps

        deps.reset()
        auth.verifier.cache_clear()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()

    def __enter__(self) -> "LocalStack":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
