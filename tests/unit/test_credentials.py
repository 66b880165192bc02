"""Each principal's password in its own owner-only file (issue 11: one file held them all)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from infra.security.secrets import Credentials, delivery_key


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_each_principal_has_its_own_owner_only_file(tmp_path: Path) -> None:
    credentials = Credentials(tmp_path / "secrets")
    passwords = credentials.ensure(["admin", "force-01", "exchange-worker"])

    folder = tmp_path / "secrets" / "credentials"
    assert mode(tmp_path / "secrets") == 0o700
    assert mode(folder) == 0o700
    assert sorted(p.name for p in folder.iterdir()) == ["admin", "exchange-worker", "force-01"]
    for principal, password in passwords.items():
        assert mode(folder / principal) == 0o600
        assert (folder / principal).read_text() == password
    # No file anywhere holds a password other than its own principal's.
    for principal in passwords:
        others = {p for n, p in passwords.items() if n != principal}
        assert not any(o in (folder / principal).read_text() for o in others)
    assert not (tmp_path / "secrets" / "credentials.json").exists()


def test_a_password_is_generated_once_and_then_kept(tmp_path: Path) -> None:
    first = Credentials(tmp_path).password("cps-mersey-cheshire")
    assert Credentials(tmp_path).password("cps-mersey-cheshire") == first
    assert Credentials(tmp_path).ensure(["cps-mersey-cheshire"]) == {"cps-mersey-cheshire": first}
    assert Credentials(tmp_path).password("court-crown") != first


def test_an_old_all_in_one_file_is_split_and_removed(tmp_path: Path) -> None:
    legacy = tmp_path / "credentials.json"
    legacy.write_text(json.dumps({"admin": "a-secret", "force-01": "f-secret"}))
    credentials = Credentials(tmp_path)
    assert not legacy.exists()
    assert credentials.password("admin") == "a-secret"
    assert credentials.password("force-01") == "f-secret"
    assert mode(tmp_path / "credentials" / "admin") == 0o600


@pytest.mark.parametrize("name", ["../admin", "a/b", ".hidden", "", "x" * 200])
def test_a_name_that_is_not_one_plain_file_name_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="not a principal name"):
        Credentials(tmp_path).password(name)


def test_the_delivery_key_is_made_once_owner_only_and_shared(tmp_path: Path) -> None:
    first = delivery_key(tmp_path / "secrets")
    assert len(first) == 32
    assert delivery_key(tmp_path / "secrets") == first  # a second worker reads the same key
    path = tmp_path / "secrets" / "delivery-ids.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_bytes(b"short")
    with pytest.raises(ValueError, match="no usable key"):
        delivery_key(tmp_path / "secrets")
