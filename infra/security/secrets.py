"""One SCRAM password per principal, each in its own owner-only file, generated on first use.

The files live in ``<secrets>/credentials/<principal>`` (``.cache/`` is ignored by git), the
folder 0700 and each file 0600. One file per principal, not one file for all: a process can
be handed exactly its own credential (mount or copy one file), and reading one principal's
password never means loading ``admin``'s. A principal's password can also be given in the
environment (``CJSX_PASSWORD``) for deployments that inject secrets.

A ``credentials.json`` left by an earlier version (every password in one file) is split into
per-principal files on first use and removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from collections.abc import Iterable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from infra.security.pki import owner_only_dir, write_private

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
"""What a principal's name may be, so that it is always one plain file name."""


def write_once(path: Path, content: bytes) -> bytes:
    """Write ``content`` to ``path`` unless the file exists; return what the file holds.

    ``O_EXCL`` makes two processes creating the same secret at once agree on one (the other
    reads it), and the file is 0600 from its first byte.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as out:
        out.write(content)
    return content


def delivery_key(folder: Path) -> bytes:
    """The workers' shared secret behind delivery ids (``schemas.ids.DeliveryIds``), made on
    first use. Every worker of one exchange must use the same key, or a delivery re-emitted
    by another worker would get another id and reach the partner twice."""
    owner_only_dir(folder)
    key = write_once(folder / "delivery-ids.key", secrets.token_bytes(32))
    if len(key) < 32:
        raise ValueError(f"{folder / 'delivery-ids.key'} holds no usable key; remove it")
    return key


class Credentials:
    """The local credential files: one password per principal."""

    def __init__(self, folder: Path) -> None:
        self.folder = owner_only_dir(folder)
        self.directory = owner_only_dir(folder / "credentials")
        self._migrate(folder / "credentials.json")

    def path(self, principal: str) -> Path:
        """The file holding ``principal``'s password."""
        if _NAME.fullmatch(principal) is None:
            raise ValueError(f"not a principal name: {principal!r}")
        return self.directory / principal

    def _read(self, principal: str) -> str | None:
        try:
            return self.path(principal).read_text().strip() or None
        except FileNotFoundError:
            return None

    def _create(self, principal: str, password: str) -> str:
        """Write ``password`` unless the file exists already; return the one that won."""
        won = write_once(self.path(principal), password.encode()).decode().strip()
        if not won:
            raise FileExistsError(f"{self.path(principal)} is empty")
        return won

    def _migrate(self, legacy: Path) -> None:
        """Split an old all-in-one ``credentials.json`` into per-principal files."""
        with contextlib.suppress(FileNotFoundError):
            known = dict(json.loads(legacy.read_text()))
            for principal, password in known.items():
                self._create(str(principal), str(password))
            legacy.unlink()

    def ensure(self, principals: Iterable[str]) -> dict[str, str]:
        """Passwords for ``principals``, generating (and saving) any that are missing."""
        result: dict[str, str] = {}
        for principal in principals:
            known = self._read(principal)
            result[principal] = (
                known if known is not None else self._create(principal, secrets.token_urlsafe(24))
            )
        return result

    def password(self, principal: str) -> str:
        """``principal``'s password (generated and saved if it has none yet)."""
        return self.ensure([principal])[principal]


class AuditSigningKey:
    """The auditor's Ed25519 key pair in the secrets folder (see ``streams.audit.signing``).

    The private key (``audit-signing-key.pem``, 0600) is for the auditor alone: whoever holds
    it can write records that verify as the auditor's. The public key
    (``audit-signing-key.pub.pem``) is what ``cjsx audit verify`` checks signatures with; it
    can be handed to anyone who must verify a copy of the log, and its fingerprint noted as
    the log's head is.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = owner_only_dir(folder)
        self.private_path = folder / "audit-signing-key.pem"
        self.public_path = folder / "audit-signing-key.pub.pem"

    def private_key(self) -> Ed25519PrivateKey:
        """The auditor's key, created (with its public half) on first use."""
        try:
            loaded = serialization.load_pem_private_key(self.private_path.read_bytes(), None)
        except FileNotFoundError:
            return self._create()
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ValueError(f"{self.private_path} is not an Ed25519 private key")
        if not self.public_path.exists():
            self._write_public(loaded)
        return loaded

    def _write_public(self, key: Ed25519PrivateKey) -> None:
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        write_private(self.public_path, public)

    def _create(self) -> Ed25519PrivateKey:
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(self.private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return self.private_key()  # another process made it first: use theirs
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        self._write_public(key)
        return key

    def public_key(self, path: Path | None = None) -> Ed25519PublicKey:
        """The public key from ``path`` (default: the one beside the private key)."""
        source = path or self.public_path
        loaded = serialization.load_pem_public_key(source.read_bytes())
        if not isinstance(loaded, Ed25519PublicKey):
            raise ValueError(f"{source} is not an Ed25519 public key")
        return loaded
