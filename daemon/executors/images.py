"""Which container images a site allows: glob patterns matched against image references.

A site lists patterns in ``[docker] allowed_images`` (``"python:3.*"``, ``"ghcr.io/lab/*"``,
``"nvcr.io/nvidia/pytorch:24.*"``). One image has several spellings (``python``,
``library/python:latest``, ``docker.io/library/python:latest``), so references and patterns are
compared spelled out in full: registry, ``library/`` for Docker Hub's official images, and
``:latest`` when a reference gives no tag or digest (a pattern whose last part holds a
wildcard gets no ``:latest``: ``ghcr.io/lab/*`` allows every tag). ``*`` spans ``/``
(fnmatch), so ``ghcr.io/lab/*`` also allows ``ghcr.io/lab/team/tool:1``. The pattern ``*``
alone allows every image. No pattern: no image is allowed (jobs run only as processes).

A reference must parse as Docker's grammar before any pattern is tried, so a spelling trick
cannot slip through a pattern: ``python:5000/x`` is the image ``x`` on the registry host
``python:5000``, and it does not match ``python:*``.

Checked twice: at submit (a 400 that names the allowed patterns) and again at launch (the list
may have changed since), where a refused image ends the job as ``launch_failed``.

Stdlib only: the submit path imports it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from fnmatch import fnmatchcase

DEFAULT_REGISTRY = "docker.io"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_DOMAIN = rf"{_LABEL}(?:\.{_LABEL})*"
_REFERENCE = re.compile(
    rf"(?:(?P<domain>{_DOMAIN}(?::[0-9]+)?)/)?"
    rf"(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?",
    re.ASCII,
)
_GLOB = frozenset("*?[")


def normalise(reference: str) -> str:
    """``python`` -> ``docker.io/library/python:latest``. :raises ValueError: not a reference."""
    match = _REFERENCE.fullmatch(reference)
    if match is None:
        raise ValueError(f"{reference!r} is not an image reference")
    domain, path, tag, digest = match.group("domain", "path", "tag", "digest")
    if domain is not None and not _is_registry(domain):
        domain, path = None, f"{domain}/{path}"  # "lab/tool": a Docker Hub namespace
    registry = domain or DEFAULT_REGISTRY
    if registry == DEFAULT_REGISTRY and "/" not in path:
        path = f"library/{path}"
    suffix = (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
    return f"{registry}/{path}{suffix or ':latest'}"


def is_reference(reference: str) -> bool:
    """Whether ``reference`` can name an image (Docker's reference grammar)."""
    return _REFERENCE.fullmatch(reference) is not None


def image_allowed(reference: str, patterns: Sequence[str]) -> bool:
    try:
        full = normalise(reference)
    except ValueError:
        return False
    return any(pattern == "*" or fnmatchcase(full, _expand(pattern)) for pattern in patterns)


def image_refusal(reference: str, patterns: Sequence[str]) -> str | None:
    """None when ``reference`` may run here; otherwise the message for the job's owner."""
    if not is_reference(reference):
        return f"image: {reference!r} is not an image reference (such as python:3.11)"
    if image_allowed(reference, patterns):
        return None
    if not patterns:
        return (
            f"image: {reference!r} is not allowed: this site runs no container images "
            "(an administrator lists them in berth.toml [docker] allowed_images)"
        )
    return f"image: {reference!r} is not allowed here; allowed images: {', '.join(patterns)}"


def _is_registry(first: str) -> bool:
    """Docker's rule: the first part names a registry host when it has a dot or a port, or is
    ``localhost``, or has capitals (which a repository name cannot)."""
    return "." in first or ":" in first or first == "localhost" or first.lower() != first


def _expand(pattern: str) -> str:
    """A pattern spelled out like a reference; its wildcards are kept as they are."""
    first, slash, rest = pattern.partition("/")
    if slash and _is_registry(first):
        registry, path = first, rest
    else:
        registry, path = DEFAULT_REGISTRY, pattern
    if registry == DEFAULT_REGISTRY and "/" not in path and path[:1] not in _GLOB:
        path = f"library/{path}"
    last = path.rpartition("/")[2]
    if ":" not in last and "@" not in last and not _GLOB & set(last):
        path = f"{path}:latest"
    return f"{registry}/{path}"
