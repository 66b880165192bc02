"""docs/data-sharing.md says what the projection policy does."""

from streams.route.policy import load_policy
from tools.data_sharing_doc import render


def test_the_document_names_what_the_court_never_receives() -> None:
    text = render(load_policy())
    court = text.split("## court", 1)[1].split("## ", 1)[0]
    assert "| CaseFileSubmitted | **no** |" in court
    assert "charging_advice" in court
    for form in ("MG3", "MG6", "MG6D"):
        assert form in court
