"""One SCRAM password per principal, generated on first use and kept owner-only.

The file lives in ``.cache/secrets/`` (ignored by git). A principal's password can also be
given in the environment (``CJSX_PASSWORD``) for deployments that inject secrets.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from pathlib import Path

from infra.security.pki import owner_only_dir, write_private


class Credentials:
    """The local credentials file: principal name → password."""

    def __init__(self, folder: Path) -> None:
        self.folder = owner_only_dir(folder)
        self.path = folder / "credentials.json"

    def _load(self) -> dict[str, str]:
        try:
            return dict(json.loads(self.path.read_text()))
        except FileNotFoundError:
            return {}

    def ensure(self, principals: Iterable[str]) -> dict[str, str]:
        """Passwords for ``principals``, generating (and saving) any that are missing."""
        known = self._load()
        missing = [p for p in principals if p not in known]
        if missing:
            known.update({p: secrets.token_urlsafe(24) for p in missing})
            write_private(self.path, json.dumps(known, indent=1, sort_keys=True).encode())
        return known

    def password(self, principal: str) -> str:
        return self.ensure([principal])[principal]
