"""The exceptions console in a real Chromium, against a real secured broker and worker.

A force publishes events the worker rejects; the console reads them from the rejected topic;
people sign in, correct, preview, approve and resubmit in the browser; the corrected event is
accepted, delivered and acknowledged by the partners' subscribers.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from producers.publisher import Publisher
from producers.receipts import ReceiptWatcher
from schemas.models import DefendantCharged, Offence, ReceiptStatus
from tests.browser.conftest import PASSWORD, ConsoleProcess, shoot
from tests.browser.standing import standing_with_offence
from tests.support.builders import synthetic_force, valid_charge
from tests.support.world import Broker, PartnerProcess, WorkerProcess

UNKNOWN_OFFENCE = "ZZ99999"
KNOWN_OFFENCE = "TH68010"


def with_offence_code(event: DefendantCharged, code: str) -> DefendantCharged:
    offence: Offence = event.offences[0].model_copy(update={"code": code})
    return event.model_copy(update={"offences": [offence]})


def publish_as(
    broker: Broker, console: ConsoleProcess, force: str, event: DefendantCharged
) -> None:
    topic = console.catalog.ingest(force)
    with Publisher(
        bootstrap_servers=broker.bootstrap, topic=topic, **broker.client(f"force-{force}")
    ) as publisher:
        publisher.publish(event).get(timeout=30)


def bad_charge(force: str, seed: int) -> DefendantCharged:
    return with_offence_code(valid_charge(synthetic_force(force, seed=seed)), UNKNOWN_OFFENCE)


def sign_in(page: Page, console: ConsoleProcess, user: str, screenshot: str | None = None) -> None:
    page.goto(f"{console.url}/sign-in")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    if screenshot:
        shoot(page, screenshot)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("whoami")).to_contain_text(user.capitalize())


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def wait_for_row(page: Page, console: ConsoleProcess, urn: str, timeout: float = 60) -> None:
    """The console reads the rejected topic in the background: reload until the case shows."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.goto(f"{console.url}/")
        if page.get_by_role("link", name=urn).count():
            return
        time.sleep(0.5)
    raise AssertionError(f"{urn} never reached the queue")


def exception_url(page: Page, urn: str) -> str:
    href = page.get_by_role("link", name=urn).get_attribute("href")
    assert href is not None
    return href


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def partners(kafka: Broker, console: ConsoleProcess) -> Iterator[list[PartnerProcess]]:
    """The partners a Merseyside magistrates' charge goes to, storing and acknowledging."""
    started = [
        PartnerProcess(kafka, console.catalog, pid, console.home / pid).start()
        for pid in ("cps-mersey-cheshire", "court-magistrates")
    ]
    try:
        yield started
    finally:
        for partner in started:
            partner.stop()


def test_correct_preview_approve_resubmit_delivered(
    kafka: Broker,
    worker: WorkerProcess,
    console: ConsoleProcess,
    partners: list[PartnerProcess],
    page: Page,
) -> None:
    mine = bad_charge("05", seed=11)
    theirs = bad_charge("01", seed=12)
    publish_as(kafka, console, "05", mine)
    publish_as(kafka, console, "01", theirs)

    # Another force's exception exists and an operator can see it ...
    sign_in(page, console, "olive")
    wait_for_row(page, console, theirs.envelope.case_urn)
    wait_for_row(page, console, mine.envelope.case_urn)
    other = exception_url(page, theirs.envelope.case_urn)
    shoot(page, "queue-operator")

    # The operators' panel draws the worker's own metrics: both rejections are counted.
    def panel_counts_both() -> bool:
        page.goto(f"{console.url}/operators")
        chart = page.get_by_test_id("rejections-by-code")
        text = " ".join((chart.text_content() or "").split()) if chart.count() else ""
        return "OFFENCE_UNKNOWN 2" in text

    wait_until(panel_counts_both, 30, "the worker's rejections on the operators' panel")
    expect(page.get_by_test_id("rejections-by-code")).to_contain_text("OFFENCE_UNKNOWN")
    shoot(page, "operators-panel")
    sign_out(page)

    # ... but a Merseyside user who edits the URL to open it gets 404, not the data.
    sign_in(page, console, "alice", screenshot="sign-in")
    page.goto(f"{console.url}/")
    expect(page.get_by_role("link", name=mine.envelope.case_urn)).to_be_visible()
    expect(page.get_by_role("link", name=theirs.envelope.case_urn)).to_have_count(0)
    shoot(page, "queue-force")
    response = page.goto(f"{console.url}{other}")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    assert theirs.envelope.case_urn not in page.content()
    shoot(page, "not-found")

    # Correct: the flagged field is editable and checked live by the worker's rules.
    page.goto(f"{console.url}/")
    page.get_by_role("link", name=mine.envelope.case_urn).click()
    expect(page.get_by_test_id("reasons")).to_contain_text("OFFENCE_UNKNOWN")
    expect(page.get_by_test_id("origin")).to_contain_text(console.catalog.ingest("05"))
    code = page.get_by_label("offences[0].code")
    expect(code).to_have_value(UNKNOWN_OFFENCE)
    shoot(page, "exception")
    code.fill("BA76004")  # well-formed, known, but not chargeable
    expect(page.get_by_test_id("check-result")).to_have_attribute("data-verdict", "fails")
    expect(page.get_by_test_id("check-reasons")).to_contain_text("OFFENCE_NOT_CHARGEABLE")
    code.fill(KNOWN_OFFENCE)
    expect(page.get_by_test_id("check-result")).to_have_attribute("data-verdict", "passes")
    shoot(page, "live-check")

    # Preview: the diff against the original, nothing sent yet.
    page.get_by_role("button", name="Preview correction").click()
    expect(page.get_by_test_id("diff")).to_contain_text(UNKNOWN_OFFENCE)
    expect(page.get_by_test_id("diff")).to_contain_text(KNOWN_OFFENCE)
    shoot(page, "preview")
    page.get_by_role("button", name="Send for approval").click()
    expect(page.get_by_test_id("state")).to_have_text("awaiting approval")

    # The editor cannot approve their own correction: no button, and a forged POST is refused.
    expect(page.get_by_test_id("approve")).to_have_count(0)
    expect(page.get_by_test_id("own-correction")).to_be_visible()
    shoot(page, "awaiting-approval-editor")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert token is not None
    refused = page.request.post(f"{page.url}/approve", form={"csrf_token": token})
    assert refused.status == 403
    assert "cannot approve your own correction" in refused.text()
    sign_out(page)

    # A second reviewer approves: published as the force through the normal ingest path.
    sign_in(page, console, "bob")
    page.goto(f"{console.url}/?state=awaiting+approval")
    page.get_by_role("link", name=mine.envelope.case_urn).click()
    expect(page.get_by_test_id("editor")).to_have_text("alice")
    shoot(page, "awaiting-approval-reviewer")
    page.get_by_test_id("approve").click()
    expect(page.get_by_test_id("state")).to_have_text("resubmitted")

    # The exception follows its receipts: accepted, delivered, acknowledged.
    def followed() -> bool:
        page.reload()
        acknowledged = page.get_by_test_id("acknowledged").inner_text()
        return "cps-mersey-cheshire" in acknowledged and "court-magistrates" in acknowledged

    wait_until(followed, 90, "the partners' acknowledgements of the correction")
    expect(page.get_by_test_id("outcome")).to_have_text("ACCEPTED")
    shoot(page, "resubmitted")
    new_event_id = page.locator("[data-testid=resubmission] dd").first.inner_text().strip()

    # Where is my event: the case's journey from the force's receipts, oldest first.
    page.get_by_role("link", name="Where is this case's file").click()
    timeline = page.get_by_test_id("timeline")
    for status in ("REJECTED", "ACCEPTED", "DELIVERED", "ACKNOWLEDGED"):
        expect(timeline).to_contain_text(status)
    whats = page.locator("[data-testid=timeline] tbody tr td:nth-child(3)").all_inner_texts()
    assert whats[:2] == ["REJECTED", "ACCEPTED"]
    assert whats.count("ACKNOWLEDGED") == 2
    shoot(page, "where-is-my-event")

    # The broker agrees, read independently as the force.
    watcher = ReceiptWatcher(
        bootstrap_servers=kafka.bootstrap,
        topics=[console.catalog.receipts("05")],
        **kafka.client("force-05"),
    )
    try:
        corrected = uuid.UUID(new_event_id)
        assert watcher.wait_until(
            lambda w: (
                corrected in w.statuses
                and w.statuses[corrected].outcome is ReceiptStatus.ACCEPTED
                and w.statuses[corrected].acknowledged_by
                == {"cps-mersey-cheshire", "court-magistrates"}
            ),
            30,
        )
        original = watcher.statuses[mine.envelope.event_id]
        assert original.outcome is ReceiptStatus.REJECTED
    finally:
        watcher.close()


def test_csrf_refusal_dismiss_keyboard_and_replay_dry_run(
    kafka: Broker,
    worker: WorkerProcess,
    start_console: Callable[..., ConsoleProcess],
    page: Page,
    tmp_path: Path,
) -> None:
    # The console runs on standing data that has since learnt the unknown offence code.
    console = start_console(standing_with_offence(tmp_path / "standing", UNKNOWN_OFFENCE))
    event = bad_charge("05", seed=21)
    later = bad_charge("05", seed=22)
    publish_as(kafka, console, "05", event)
    publish_as(kafka, console, "05", later)

    # A wrong password is refused with a message.
    page.goto(f"{console.url}/sign-in")
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Enter a correct user name and password")).to_be_visible()
    shoot(page, "sign-in-error")

    sign_in(page, console, "alice")
    wait_for_row(page, console, event.envelope.case_urn)

    # Keyboard only: skip link, then Tab to the case and Enter.
    page.goto(f"{console.url}/")
    link = page.get_by_role("link", name=event.envelope.case_urn)
    for _ in range(40):
        page.keyboard.press("Tab")
        if link.evaluate("element => element === document.activeElement"):
            break
    else:
        raise AssertionError("the case link cannot be reached with the Tab key")
    shoot(page, "queue-keyboard-focus")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/exceptions/"))

    # A form whose CSRF token is not the session's is refused, and nothing changes.
    page.get_by_label("Why no correction will be sent").fill("duplicate of a later file")
    page.locator("form[action$='/dismiss'] input[name=csrf_token]").evaluate(
        "element => element.value = 'forged'"
    )
    page.get_by_role("button", name="Dismiss exception").click()
    expect(page.get_by_test_id("error-detail")).to_contain_text("The form has expired")
    shoot(page, "csrf-refused")
    page.go_back()
    page.reload()
    expect(page.get_by_test_id("state")).to_have_text("open")

    # Dismiss needs a reason; with one, the exception is dismissed and kept.
    page.get_by_role("button", name="Dismiss exception").click()
    expect(page.get_by_role("link", name="Enter why this exception is dismissed")).to_be_visible()
    page.get_by_label("Why no correction will be sent").fill("duplicate of a later file")
    page.get_by_role("button", name="Dismiss exception").click()
    expect(page.get_by_test_id("state")).to_have_text("dismissed")
    shoot(page, "dismissed")
    page.goto(f"{console.url}/?state=dismissed")
    expect(page.get_by_role("link", name=event.envelope.case_urn)).to_be_visible()

    # Replay, dry run: the open exception with that code would now pass; the dismissed one is
    # not replayed; nothing is sent.
    wait_for_row(page, console, later.envelope.case_urn)
    page.get_by_role("link", name="Replay").click()
    page.get_by_label("Reason code").select_option("OFFENCE_UNKNOWN")
    page.get_by_role("button", name="Check again (dry run)").click()
    expect(page.get_by_test_id("replay-summary")).to_have_text("1 of 1 would now pass")
    expect(page.get_by_test_id("replay-passing")).to_contain_text(later.envelope.case_urn)
    shoot(page, "replay-dry-run")
    page.goto(f"{console.url}/")
    expect(page.get_by_role("link", name=later.envelope.case_urn)).to_be_visible()
