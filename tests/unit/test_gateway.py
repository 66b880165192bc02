"""The gateway's pure parts: the checked-in OpenAPI document, the rate bucket, tokens."""

from __future__ import annotations

from pathlib import Path

import pytest

from cjsx.gateway.auth import Authenticator, load_tokens, new_token, save_tokens
from cjsx.gateway.cli import openapi_text
from cjsx.gateway.limits import ForceLimits, TokenBucket
from infra.registry import load_registry

ROOT = Path(__file__).resolve().parents[2]


def test_the_checked_in_openapi_document_is_what_the_app_generates() -> None:
    generated = openapi_text()
    checked_in = (ROOT / "docs" / "gateway-openapi.json").read_text()
    assert checked_in == generated, (
        "docs/gateway-openapi.json is stale: run `cjsx gateway openapi > docs/gateway-openapi.json`"
    )
    assert '"/forces/{force}/events"' in generated
    assert '"/forces/{force}/receipts"' in generated


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_bucket_gives_its_burst_then_its_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=10, burst=5, clock=clock)
    assert bucket.take(5) == 0
    assert bucket.take(1) == pytest.approx(0.1)
    clock.now = 0.25  # 2.5 tokens back
    assert bucket.take(2) == 0
    assert bucket.take(1) == pytest.approx(0.05)
    assert bucket.take(6) == float("inf")  # more than a burst: never


def test_in_flight_is_counted_per_force() -> None:
    limits = ForceLimits(max_in_flight=2, rate=1, burst=1)
    assert limits.enter("01")
    assert limits.enter("01")
    assert not limits.enter("01")
    assert limits.enter("05")
    limits.leave("01")
    assert limits.enter("01")


def test_tokens_are_stored_as_hashes_and_bound_to_their_force(tmp_path: Path) -> None:
    text, token = new_token("05")
    other_text, other = new_token("01")
    path = tmp_path / "tokens.toml"
    save_tokens(path, {token.id: token, other.id: other})
    stored = path.read_text()
    assert text not in stored
    assert text.rsplit(".", 1)[1] not in stored
    assert path.stat().st_mode & 0o777 == 0o600
    auth = Authenticator(load_tokens(path, load_registry()))
    assert auth.remembered(f"Bearer {text}") is None  # not verified yet
    caller = auth.verify(f"Bearer {text}")
    assert caller is not None
    assert caller.force == "05"
    assert auth.remembered(f"Bearer {text}") == caller
    assert auth.verify(f"bearer {other_text}").force == "01"  # type: ignore[union-attr]
    # Another force's code in front of a valid id and secret is not that force's token.
    forged = text.replace("cjsx.05.", "cjsx.01.")
    assert auth.verify(f"Bearer {forged}") is None
    for bad in (None, "", "Bearer", f"Basic {text}", f"Bearer {text}x", "Bearer " + "a" * 600):
        assert auth.verify(bad) is None
