"""Who is calling: per-force bearer tokens, kept only as argon2 hashes (ADR 0008).

A token reads ``cjsx.<force>.<token id>.<secret>``: the force and token id say which one hash
to check, so a request costs one argon2 verification, not one per token. A token once verified
is remembered for the life of the process by its SHA-256 (the secret itself is not kept), so
the per-request cost is a dictionary look-up; argon2 is paid once per token and process.
Verifications of unknown tokens run a few at a time, so a flood of bad tokens cannot take
every thread.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from common.errors import CjsxError
from infra.registry import Registry

_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("not a token of anyone")
_PREFIX = "cjsx"
_REMEMBERED = 10_000


class TokensFileError(CjsxError):
    """The tokens file names an unknown force or repeats a token id."""


@dataclass(frozen=True, slots=True)
class Token:
    """One force's token as stored: its id and the argon2 hash of the whole token."""

    force: str
    id: str
    hash: str


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated force system."""

    force: str
    token_id: str


def new_token(force: str) -> tuple[str, Token]:
    """A fresh token for ``force`` (shown once) and what is stored of it."""
    token_id = secrets.token_hex(4)
    text = f"{_PREFIX}.{force}.{token_id}.{secrets.token_urlsafe(32)}"
    return text, Token(force, token_id, _HASHER.hash(text))


def load_tokens(path: Path, registry: Registry) -> dict[str, Token]:
    """Every token of the file by id, checked against the registry; no file, no tokens."""
    if not path.exists():
        return {}
    tokens: dict[str, Token] = {}
    for entry in tomllib.loads(path.read_text()).get("token", []):
        token = Token(str(entry["force"]), str(entry["id"]), str(entry["hash"]))
        if registry.force(token.force) is None:
            raise TokensFileError(f"token {token.id}: force {token.force} is not in the registry")
        if token.id in tokens:
            raise TokensFileError(f"token {token.id} is listed twice")
        tokens[token.id] = token
    return tokens


def save_tokens(path: Path, tokens: dict[str, Token]) -> None:
    """Write the tokens file owner-only (it holds hashes)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    lines = ["# Gateway tokens (cjsx gateway add-token). Owner-only: holds argon2 hashes.", ""]
    for token in tokens.values():
        lines += [
            "[[token]]",
            f"force = {json.dumps(token.force)}",
            f"id = {json.dumps(token.id)}",
            f"hash = {json.dumps(token.hash)}",
            "",
        ]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(lines))
    path.chmod(0o600)


class Authenticator:
    """Checks bearer tokens against the stored hashes; thread-safe."""

    def __init__(self, tokens: dict[str, Token], concurrent_checks: int = 2) -> None:
        self.tokens = tokens
        self._known: dict[bytes, Caller] = {}
        self._lock = threading.Lock()
        self._checks = threading.BoundedSemaphore(concurrent_checks)

    def remembered(self, authorization: str | None) -> Caller | None:
        """The caller of an already verified token (no argon2: safe on the event loop)."""
        text = _bearer(authorization)
        if text is None:
            return None
        with self._lock:
            return self._known.get(_digest(text))

    def verify(self, authorization: str | None) -> Caller | None:
        """The caller the ``Authorization`` header proves, or None. Costs one argon2
        verification the first time a token is seen (run it off the event loop)."""
        text = _bearer(authorization)
        if text is None:
            return None
        digest = _digest(text)
        with self._lock:
            known = self._known.get(digest)
        if known is not None:
            return known
        parts = text.split(".")
        token = self.tokens.get(parts[2]) if len(parts) == 4 and parts[0] == _PREFIX else None
        if token is not None and token.force != parts[1]:
            token = None
        with self._checks:
            valid: bool
            try:
                valid = _HASHER.verify(token.hash if token else _DUMMY_HASH, text)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                valid = False
        if not valid or token is None:
            return None
        caller = Caller(token.force, token.id)
        with self._lock:
            if len(self._known) >= _REMEMBERED:
                self._known.clear()
            self._known[digest] = caller
        return caller


def _bearer(authorization: str | None) -> str | None:
    if authorization is None or len(authorization) > 512:
        return None
    scheme, _, value = authorization.partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value else None


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "replace")).digest()
