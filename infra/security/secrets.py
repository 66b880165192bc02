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

from infra.security.pki import owner_only_dir

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
"""What a principal's name may be, so that it is always one plain file name."""


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
        """Write ``password`` unless the file exists already; return the one that won.

        ``O_EXCL`` makes two processes generating the same principal's password at once agree
        on one (the other reads it), and the file is 0600 from its first byte.
        """
        try:
            fd = os.open(self.path(principal), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            existing = self._read(principal)
            if existing is None:
                raise
            return existing
        with os.fdopen(fd, "w") as out:
            out.write(password)
        return password

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
