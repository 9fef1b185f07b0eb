"""Who is calling: the kernel's peer credentials on the unix socket, signed tokens on TCP.

On the unix socket the caller cannot lie: ``SO_PEERCRED`` gives the uid and gid of the process
that connected. TCP clients (remote users, ``berth node`` agents) present
``Authorization: Bearer <token>``, where a token is ``user:uid:expiry:signature`` and the
signature is an HMAC-SHA256 of the rest under the key in ``BERTH_HOME/secret`` (created on first
start, mode 0600, never in the repository). ``berth token`` issues one (root only).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

from daemon.settings import user_name


@dataclass(frozen=True, slots=True)
class Caller:
    uid: int
    gid: int
    user: str
    admin: bool

    def may_act_on(self, owner_uid: int) -> bool:
        return self.admin or self.uid == owner_uid


class AuthError(Exception):
    """The request carries no identity the daemon accepts; the message says how to get one."""


def peer_credentials(sock: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process at the other end of a unix socket."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", raw)
    return pid, uid, gid


def load_or_create_secret(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes()
    key = secrets.token_bytes(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(key)
    return key


def _sign(key: bytes, payload: str) -> str:
    digest = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def issue_token(key: bytes, user: str, uid: int, expiry: int) -> str:
    payload = f"{user}:{uid}:{expiry}"
    return f"{payload}:{_sign(key, payload)}"


def verify_token(key: bytes, token: str, now: int) -> tuple[str, int]:
    """(user, uid) named by a valid token. :raises AuthError: for a bad or expired token."""
    parts = token.split(":")
    if len(parts) != 4 or not parts[1].isdigit() or not parts[2].isdigit():
        raise AuthError("malformed token; ask an administrator for one with `berth token`")
    user, uid, expiry, signature = parts
    if not hmac.compare_digest(_sign(key, f"{user}:{uid}:{expiry}"), signature):
        raise AuthError("token signature does not match this daemon's key")
    if int(expiry) < now:
        raise AuthError("token expired; ask an administrator for a new one with `berth token`")
    return user, int(uid)


def caller_for(uid: int, gid: int, admins: tuple[str, ...], *, name: str | None = None) -> Caller:
    user = name if name is not None else user_name(uid)
    admin = uid == 0 or uid == os.geteuid() or user in admins
    return Caller(uid=uid, gid=gid, user=user, admin=admin)
