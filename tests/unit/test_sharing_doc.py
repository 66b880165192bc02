"""docs/data-sharing.md says what the projection policy does."""

from streams.route.policy import load_policy
from streams.route.sharing_doc import DOC, render


def test_the_data_sharing_document_is_current() -> None:
    assert DOC.read_text() == render(load_policy()), (
        "docs/data-sharing.md is stale: run python -m streams.route.sharing_doc"
    )


def test_the_document_names_what_the_court_never_receives() -> None:
    text = render(load_policy())
    court = text.split("## court", 1)[1].split("## ", 1)[0]
    assert "| CaseFileSubmitted | **no** |" in court
    assert "charging_advice" in court
    for form in ("MG3", "MG6", "MG6D"):
        assert form in court
