"""Console users: who may sign in, for which force, and who may approve corrections.

Users live in a TOML file of their own (``users.toml``, owner-only, never committed), because
the registry is public configuration and password hashes are not. Roles refer to the registry:
a user's force must be a registry force. Passwords are hashed with argon2id (argon2-cffi).
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from common.errors import CjsxError
from infra.registry import Registry

_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("not a password of anyone")


class UsersFileError(CjsxError):
    """The users file names an unknown force or gives a user no role."""


@dataclass(frozen=True, slots=True)
class User:
    """Someone who may sign in: a force's staff (``force`` set) or an operator (sees all)."""

    id: str
    name: str
    password_hash: str
    force: str | None = None
    operator: bool = False
    reviewer: bool = False

    def may_see(self, force: str | None) -> bool:
        """Operators see every exception; force staff only their own force's."""
        return self.operator or (force is not None and force == self.force)

    @property
    def role(self) -> str:
        base = "operator" if self.operator else f"force {self.force}"
        return f"{base}, reviewer" if self.reviewer else base


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(user: User | None, password: str) -> bool:
    """True when ``password`` is the user's; an unknown user costs the same time as a known one."""
    try:
        return _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password) and bool(user)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def load_users(path: Path, registry: Registry) -> dict[str, User]:
    """Every user of the file, checked against the registry; no file means no users."""
    if not path.exists():
        return {}
    data = tomllib.loads(path.read_text())
    users: dict[str, User] = {}
    for entry in data.get("user", []):
        user = User(
            id=str(entry["id"]),
            name=str(entry.get("name", entry["id"])),
            password_hash=str(entry["password_hash"]),
            force=entry.get("force"),
            operator=bool(entry.get("operator", False)),
            reviewer=bool(entry.get("reviewer", False)),
        )
        if user.operator == (user.force is not None):
            raise UsersFileError(f"user {user.id}: give either a force or operator = true")
        if user.force is not None and registry.force(user.force) is None:
            raise UsersFileError(f"user {user.id}: force {user.force} is not in the registry")
        if user.id in users:
            raise UsersFileError(f"user {user.id} is listed twice")
        users[user.id] = user
    return users


def save_users(path: Path, users: dict[str, User]) -> None:
    """Write the users file owner-only (it holds password hashes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Console users (cjsx console add-user). Owner-only: holds password hashes.", ""]
    for user in users.values():
        lines += ["[[user]]", f"id = {json.dumps(user.id)}", f"name = {json.dumps(user.name)}"]
        if user.force is not None:
            lines.append(f"force = {json.dumps(user.force)}")
        if user.operator:
            lines.append("operator = true")
        lines.append(f"reviewer = {'true' if user.reviewer else 'false'}")
        lines += [f"password_hash = {json.dumps(user.password_hash)}", ""]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(lines))
    path.chmod(0o600)
