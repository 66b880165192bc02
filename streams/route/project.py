"""Minimisation: one recipient's projection of one event, driven entirely by the policy."""

from __future__ import annotations

from typing import Any

from schemas.models import CaseEvent
from streams.route.policy import RecipientPolicy


def project(event: CaseEvent, policy: RecipientPolicy) -> CaseEvent | None:
    """The event as ``policy`` allows its recipient to see it, or None if not at all.

    Withheld fields become null; documents of withheld forms are removed; an event left
    with no documents where it had some is not delivered.
    """
    short_name = type(event).__name__
    if short_name not in policy.events:
        return None
    update: dict[str, Any] = {
        field: None for (etype, field) in policy.withhold_fields if etype == short_name
    }
    documents = getattr(event, "documents", None)
    if documents and policy.withhold_forms:
        kept = [d for d in documents if d.form not in policy.withhold_forms]
        if not kept and short_name == "CaseDocumentsAdded":
            return None
        if len(kept) != len(documents):
            update["documents"] = kept
    return event.model_copy(update=update) if update else event
