"""The commands' connection to the daemon: HTTP over its unix socket, standard library only.

The socket is ``$BERTH_SOCKET``, else ``$BERTH_HOME/berth.sock`` (BERTH_HOME defaulting as the
daemon's does). Every refusal comes back as `ApiError` with the daemon's message, which the
commands print in Slurm's ``<prog>: error: <message>`` form.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlencode


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def socket_path() -> str:
    configured = os.environ.get("BERTH_SOCKET")
    if configured:
        return configured
    home = os.environ.get("BERTH_HOME")
    if home:
        return str(Path(home) / "berth.sock")
    if os.geteuid() == 0 or Path("/var/lib/berth/berth.sock").exists():
        return "/var/lib/berth/berth.sock"
    return str(Path.home() / ".local" / "state" / "berth" / "berth.sock")


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except OSError as err:
            sock.close()
            raise ApiError(
                503, "unreachable",
                f"cannot reach the berth daemon at {self.path} ({err.strerror}); is `berth "
                "daemon` running? (BERTH_SOCKET / BERTH_HOME choose the socket)",
            ) from None  # fmt: skip
        self.sock = sock


class Client:
    def __init__(self, path: str | None = None, *, timeout: float = 60.0) -> None:
        self.path = path or socket_path()
        self.timeout = timeout
        self._connection: _UnixConnection | None = None

    def __enter__(self) -> Client:  # noqa: PYI034 - Client is final
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def request(
        self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None
    ) -> Any:
        if query:
            pairs = {k: v for k, v in query.items() if v not in (None, "", [], ())}
            if pairs:
                path = f"{path}?{urlencode(pairs, doseq=True)}"
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        for attempt in (1, 2):
            if self._connection is None:
                self._connection = _UnixConnection(self.path, self.timeout)
            try:
                self._connection.request(method, path, body=payload, headers=headers)
                response = self._connection.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as err:
                self.close()  # a kept-alive connection the daemon closed: retry once
                if attempt == 2:
                    raise ApiError(
                        503, "unreachable", "the berth daemon closed the connection"
                    ) from err
        decoded = json.loads(data) if data else None
        if response.status >= 400:
            message = decoded.get("error") if isinstance(decoded, dict) else data.decode()
            code = decoded.get("code", "") if isinstance(decoded, dict) else ""
            raise ApiError(response.status, code, str(message))
        return decoded

    def get(self, path: str, **query: Any) -> Any:
        return self.request("GET", path, query=query)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, body=body if body is not None else {})
