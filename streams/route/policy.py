"""Load the projection policy (``policy.toml``): what each kind of recipient may receive."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from schemas.models import MgForm

POLICY_FILE = Path(__file__).with_name("policy.toml")


@dataclass(frozen=True, slots=True)
class RecipientPolicy:
    kind: str
    purpose: str
    legal_basis: str
    events: frozenset[str]
    withhold_fields: frozenset[tuple[str, str]]
    """(event type short name, field name) pairs set to null."""
    withhold_forms: frozenset[MgForm]
    withhold_enrichment: frozenset[str] = frozenset()
    """Parts of a delivery's enrichment withheld (``triggers``: PNC update triggers)."""


@dataclass(frozen=True, slots=True)
class Policy:
    version: int
    recipients: dict[str, RecipientPolicy]

    def for_kind(self, kind: str) -> RecipientPolicy:
        return self.recipients[kind]


@cache
def load_policy(path: Path = POLICY_FILE) -> Policy:
    data = tomllib.loads(path.read_text())
    recipients = {}
    for row in data["recipient"]:
        withheld = set()
        for dotted in row["withhold_fields"]:
            event_type, _, field = dotted.partition(".")
            withheld.add((event_type, field))
        recipients[row["kind"]] = RecipientPolicy(
            kind=row["kind"],
            purpose=row["purpose"],
            legal_basis=row["legal_basis"],
            events=frozenset(row["events"]),
            withhold_fields=frozenset(withheld),
            withhold_forms=frozenset(MgForm(f) for f in row["withhold_forms"]),
            withhold_enrichment=frozenset(row.get("withhold_enrichment", [])),
        )
    return Policy(version=int(data["version"]), recipients=recipients)
