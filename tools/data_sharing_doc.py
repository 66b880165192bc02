"""Generate ``docs/data-sharing.md`` from the projection policy and the schemas.

Run ``python -m tools.generate data-sharing``; a test fails when the file is stale, so the
document always says what the code does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from schemas.models import COURT_EVENT_TYPES, EVENT_TYPES
from schemas.store import resolve
from streams.route.policy import Policy, load_policy

DOC = Path("docs/data-sharing.md")


def _fields(schema: dict[str, Any]) -> list[str]:
    return [f["name"] for f in schema["fields"]]


def render(policy: Policy) -> str:
    lines = [
        "# Data sharing: who receives what",
        "",
        "Generated from `streams/route/policy.toml` by `python -m tools.generate`; do not",
        "edit by hand. Data Protection Act 2018 Part 3: each recipient gets what is",
        "adequate, relevant and not excessive for its purpose (s.37). Every delivery records",
        f"the policy version it was made under (now **{policy.version}**).",
        "",
        "Recipients: the CPS area that prosecutes at the case's court (before charge, the",
        "force's area), the magistrates' court when the hearing is at one, and the Crown Court",
        "when the court is a Crown Court or any offence is indictable-only. Court results",
        "(`HearingResulted`, from HMCTS's court publishers) go back to the charging force",
        "(kind `force`, on its own results topic) and to the case's CPS area.",
        "",
    ]
    for kind, rules in sorted(policy.recipients.items()):
        lines += [
            f"## {kind}",
            "",
            f"- Purpose: {rules.purpose}",
            f"- Legal basis: {rules.legal_basis}",
            "- Documents of these MG forms are withheld: "
            + (", ".join(sorted(f.value for f in rules.withhold_forms)) or "none"),
            "- Parts of the exchange's enrichment withheld (court results): "
            + (", ".join(sorted(rules.withhold_enrichment)) or "none"),
            "",
            "| event | received | fields withheld (sent as null) |",
            "| --- | --- | --- |",
        ]
        for event_type in (*EVENT_TYPES, *COURT_EVENT_TYPES):
            name = event_type.__name__
            withheld = sorted(f for e, f in rules.withhold_fields if e == name)
            received = "yes" if name in rules.events else "**no**"
            lines.append(f"| {name} | {received} | {', '.join(withheld) or '-'} |")
        lines.append("")
    lines += ["## Fields of each event", ""]
    for event_type in (*EVENT_TYPES, *COURT_EVENT_TYPES):
        schema = resolve(event_type.avro_name)
        lines.append(f"- **{event_type.__name__}**: {', '.join(_fields(schema))}")
    lines.append("")
    return "\n".join(lines)


def outputs(root: Path) -> dict[Path, str]:
    return {root / DOC: render(load_policy())}
