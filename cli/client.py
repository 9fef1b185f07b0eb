"""The commands' connection to the daemon: HTTP/1.1 over its unix socket, standard library only.

The socket is ``$BERTH_SOCKET``, else ``$BERTH_HOME/berth.sock`` (BERTH_HOME defaulting as the
daemon's does). Every refusal comes back as `ApiError` with the daemon's message, which the
commands print in Slurm's ``<prog>: error: <message>`` form.

The transport is a few lines over `socket` rather than ``http.client``: that module (with the
``email`` package it imports) costs about 20 ms of a command's cold start, an eighth of the
150 ms budget. It speaks what the daemon answers: a status line, headers, and a body framed by
``Content-Length`` or chunked; the connection is kept alive and retried once if the daemon
closed it.
"""

from __future__ import annotations

import json
import os
import socket
from typing import Any

_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


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
        return os.path.join(home, "berth.sock")
    if os.geteuid() == 0 or os.path.exists("/var/lib/berth/berth.sock"):
        return "/var/lib/berth/berth.sock"
    return os.path.join(os.path.expanduser("~"), ".local", "state", "berth", "berth.sock")


def quote(text: str) -> str:
    """Percent-encode ``text`` for a query string (what ``urllib.parse.quote`` does)."""
    return "".join(chr(b) if b in _SAFE else f"%{b:02X}" for b in text.encode())


def query_string(query: dict[str, Any]) -> str:
    """``{"ids": "1,2", "all": 1}`` -> ``ids=1%2C2&all=1``; empty values are left out, a list
    repeats its key."""
    pairs: list[str] = []
    for key, value in query.items():
        if value in (None, "", [], ()):
            continue
        for item in value if isinstance(value, list | tuple) else [value]:
            pairs.append(f"{quote(str(key))}={quote(str(item))}")
    return "&".join(pairs)


class _Closed(Exception):
    """The daemon closed a kept-alive connection before answering."""


class Client:
    def __init__(self, path: str | None = None, *, timeout: float = 60.0) -> None:
        self.path = path or socket_path()
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._reader: Any = None

    def __enter__(self) -> Client:  # noqa: PYI034 - Client is final
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _connect(self) -> None:
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
        self._sock, self._reader = sock, sock.makefile("rb")

    def raw(self, method: str, path: str, payload: bytes | None = None) -> tuple[int, bytes]:
        """One exchange: the status and the body's bytes (any content type)."""
        for attempt in (1, 2):
            fresh = self._sock is None
            if fresh:
                self._connect()
            try:
                return self._exchange(method, path, payload)
            except (_Closed, BrokenPipeError, ConnectionResetError) as err:
                self.close()  # a kept-alive connection the daemon closed: retry once
                if fresh or attempt == 2:
                    raise ApiError(
                        503, "unreachable", "the berth daemon closed the connection"
                    ) from err
            except OSError as err:  # a timeout: the connection is in an unknown state
                self.close()
                message = f"the berth daemon did not answer: {err}"
                raise ApiError(503, "unreachable", message) from err
        raise AssertionError("unreachable")

    def _exchange(self, method: str, path: str, payload: bytes | None) -> tuple[int, bytes]:
        assert self._sock is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n"
        if payload is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        self._sock.sendall(head.encode() + b"\r\n" + (payload or b""))
        reader = self._reader
        status_line = reader.readline(65536)
        if not status_line:
            raise _Closed
        status = int(status_line.split(None, 2)[1])
        length, chunked, close = None, False, False
        while True:
            line = reader.readline(65536)
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding":
                chunked = "chunked" in value
            elif name == "connection":
                close = value == "close"
        if chunked:
            body = self._chunks()
        elif length is not None:
            body = reader.read(length)
        else:
            body, close = reader.read(), True
        if close:
            self.close()
        return status, body

    def _chunks(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int(self._reader.readline(65536).split(b";")[0], 16)
            if size == 0:
                while self._reader.readline(65536) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(self._reader.read(size))
            self._reader.readline(65536)

    def request(
        self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None
    ) -> Any:
        if query:
            encoded = query_string(query)
            if encoded:
                path = f"{path}?{encoded}"
        payload = None if body is None else json.dumps(body).encode()
        status, data = self.raw(method, path, payload)
        try:
            decoded = json.loads(data) if data else None
        except ValueError:  # not JSON: a proxy's or the web framework's own error page
            if status < 400:
                raise ApiError(status, "bad_reply", f"not JSON: {data[:200]!r}") from None
            decoded = None
        if status >= 400:
            message = decoded.get("error") if isinstance(decoded, dict) else data.decode()
            code = decoded.get("code", "") if isinstance(decoded, dict) else ""
            raise ApiError(status, code, str(message))
        return decoded

    def get(self, path: str, **query: Any) -> Any:
        return self.request("GET", path, query=query)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, body=body if body is not None else {})
