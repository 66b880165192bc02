"""The exceptions console's rules, through its real web application (Starlette's TestClient).

Kafka is replaced by a recorded publish function; rejections are real ones, made by the
exchange's own pipeline from synthetic events.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from itsdangerous import TimestampSigner
from starlette.testclient import TestClient

from cjsx.console.actions import LABELS, Act, ActionCode, ActionLog, ActionNotRecorded
from cjsx.console.app import Services, create_app
from cjsx.console.broker import Step
from cjsx.console.correction import recipient_views
from cjsx.console.panel import MetricsHistory
from cjsx.console.settings import ConsoleSettings
from cjsx.console.store import ConsoleStore, Filters, State
from cjsx.console.users import User, hash_password, load_users, save_users, verify_password
from schemas.models import CaseEvent, DefendantCharged, Offence, RejectedEvent
from streams.reference import StandingData
from streams.validate import ValidationContext
from tests.browser.standing import standing_with_offence
from tests.support.builders import (
    NOW,
    TODAY,
    FixedClock,
    codec,
    decoded,
    exchange,
    policy,
    record,
    registry,
    standing,
    synthetic_force,
    valid_charge,
    valid_pre_charge,
    with_hearing,
)

PASSWORD = "correct horse battery"
UNKNOWN_OFFENCE = "ZZ99999"


@dataclass
class FakePublisher:
    """Records what would have been published, as which force."""

    sent: list[tuple[str, CaseEvent]] = field(default_factory=list)

    def __call__(self, force: str, event: CaseEvent) -> str:
        self.sent.append((force, event))
        return f"ingest.{force}/0/{len(self.sent) - 1}"


def rejection_of(event: CaseEvent | bytes, force: str, offset: int = 0) -> RejectedEvent:
    """The exchange's own rejection of ``event`` (its id derives from the record's position)."""
    outcome = exchange().process(record(event, offset, force=force))
    (rejected,) = decoded(outcome.outputs, RejectedEvent)
    return rejected


def with_offence_code(event: DefendantCharged, code: str) -> DefendantCharged:
    offence: Offence = event.offences[0].model_copy(update={"code": code})
    return event.model_copy(update={"offences": [offence]})


@dataclass
class FakeActionLog:
    """Stands in for the audit log's console-actions topic: keeps each act, or refuses."""

    acts: list[Act] = field(default_factory=list)
    refuse: bool = False
    closed: bool = False

    def __call__(self, act: Act) -> None:
        if self.refuse:
            raise ActionNotRecorded("the audit log did not take the action (KafkaTimeoutError)")
        self.acts.append(act)

    def close(self) -> None:
        self.closed = True


@dataclass
class FakeTracker:
    """Answers every search with one step, and records which forces were searched."""

    searched: list[tuple[list[str], str]] = field(default_factory=list)

    def __call__(self, forces: list[str], query: str) -> list[Step]:
        self.searched.append((forces, query))
        return [Step(NOW, "receipt", str(uuid.UUID(int=1)), query, "ACCEPTED", "")]


@dataclass
class World:
    client: TestClient
    services: Services
    store: ConsoleStore
    publisher: FakePublisher
    mine: RejectedEvent
    theirs: RejectedEvent
    junk: RejectedEvent
    audit: FakeActionLog

    def sign_in(self, user: str) -> None:
        self.client.cookies.clear()
        page = self.client.get("/sign-in")
        response = self.client.post(
            "/sign-in",
            data={"username": user, "password": PASSWORD, "csrf_token": csrf(page.text)},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text

    def page(self, path: str) -> str:
        response = self.client.get(path)
        assert response.status_code == 200, response.text
        return response.text

    def post(self, path: str, data: dict[str, str], *, from_page: str) -> tuple[int, str]:
        token = csrf(self.page(from_page))
        response = self.client.post(path, data={**data, "csrf_token": token})
        return response.status_code, response.text


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


@pytest.fixture(scope="module")
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def world(tmp_path: Path, password_hash: str) -> Iterator[World]:
    users = {
        u.id: u
        for u in (
            User("alice", "Alice Editor", password_hash, force="05", reviewer=True),
            User("bob", "Bob Reviewer", password_hash, force="05", reviewer=True),
            User("dave", "Dave Clerk", password_hash, force="05"),
            User("carol", "Carol Cumbria", password_hash, force="01", reviewer=True),
            User("olive", "Olive Operator", password_hash, operator=True, reviewer=True),
        )
    }
    audit = FakeActionLog()
    store = ConsoleStore(f"sqlite:///{tmp_path / 'console.sqlite'}", record=audit)
    mine = rejection_of(with_offence_code(valid_charge(), UNKNOWN_OFFENCE), "05")
    theirs = rejection_of(
        with_offence_code(valid_charge(synthetic_force("01")), UNKNOWN_OFFENCE), "01"
    )
    junk = rejection_of(b"not avro at all \xff\x00", "05", offset=1)
    store.add_rejections("rejected", [(0, 0, mine), (0, 1, theirs), (0, 2, junk)])
    publisher = FakePublisher()
    services = Services(
        store=store,
        users=users,
        registry=registry(),
        validation=ValidationContext(standing()),
        publish=publisher,
        codec=codec(),
        track=FakeTracker(),
        metrics=MetricsHistory(None),
        clock=FixedClock(NOW + timedelta(hours=3)),
    )
    settings = ConsoleSettings(console_secret_key="test-key-" + "x" * 32, cache_dir=tmp_path)
    with TestClient(create_app(settings, services), base_url="https://testserver") as client:
        yield World(client, services, store, publisher, mine, theirs, junk, audit)
    store.close()


def test_the_rejection_is_a_real_one() -> None:
    rejected = rejection_of(with_offence_code(valid_charge(), UNKNOWN_OFFENCE), "05")
    assert [r.code for r in rejected.reasons] == ["OFFENCE_UNKNOWN"]
    assert rejected.reasons[0].field == "offences[0].code"


def test_pages_need_a_signed_in_user(world: World) -> None:
    response = world.client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in"
    response = world.client.get(f"/exceptions/{world.mine.rejection_id}", follow_redirects=False)
    assert response.status_code == 303


def test_wrong_password_is_refused_with_a_message(world: World) -> None:
    page = world.client.get("/sign-in")
    response = world.client.post(
        "/sign-in", data={"username": "alice", "password": "wrong", "csrf_token": csrf(page.text)}
    )
    assert response.status_code == 401
    assert "Enter a correct user name and password" in response.text
    assert world.client.get("/", follow_redirects=False).status_code == 303


def test_failed_sign_ins_are_limited_per_user_name_and_per_address(world: World) -> None:
    def attempt(user: str, password: str) -> int:
        page = world.client.get("/sign-in")
        form = {"username": user, "password": password, "csrf_token": csrf(page.text)}
        response = world.client.post("/sign-in", data=form, follow_redirects=False)
        if response.status_code == 429:
            assert "Too many failed sign-ins. Wait 15 minutes and try again" in response.text
        return response.status_code

    # Success clears the user name's failures, so alice may fail four more times ...
    assert [attempt("alice", "wrong") for _ in range(4)] == [401] * 4
    assert attempt("alice", PASSWORD) == 303
    world.client.post("/sign-out", data={"csrf_token": csrf(world.client.get("/").text)})
    # ... but not the address's: its fifth failure locks every user name from it.
    assert attempt("alice", "wrong") == 401
    assert attempt("alice", PASSWORD) == 429  # the right password too, while locked
    assert attempt("bob", PASSWORD) == 429
    assert world.client.get("/", follow_redirects=False).status_code == 303


def test_session_cookie_is_secure_httponly_samesite_and_expires(world: World) -> None:
    page = world.client.get("/sign-in")
    response = world.client.post(
        "/sign-in",
        data={"username": "alice", "password": PASSWORD, "csrf_token": csrf(page.text)},
        follow_redirects=False,
    )
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "secure" in cookie
    assert "samesite=strict" in cookie
    assert "max-age=1800" in cookie


def test_forms_without_the_csrf_token_are_refused(world: World) -> None:
    world.client.get("/sign-in")
    response = world.client.post("/sign-in", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 403
    world.sign_in("alice")
    path = f"/exceptions/{world.mine.rejection_id}/dismiss"
    response = world.client.post(path, data={"why": "x", "csrf_token": "forged"})
    assert response.status_code == 403
    assert world.store.get(str(world.mine.rejection_id)).state is State.OPEN  # type: ignore[union-attr]


def test_a_force_user_sees_only_their_forces_exceptions(world: World) -> None:
    world.sign_in("alice")
    queue = world.page("/?force=01")
    assert str(world.mine.rejection_id) in queue
    assert str(world.theirs.rejection_id) not in queue
    other = world.client.get(f"/exceptions/{world.theirs.rejection_id}")
    missing = world.client.get(f"/exceptions/{uuid.uuid4()}")
    assert other.status_code == missing.status_code == 404
    assert world.theirs.case_urn not in other.text
    for action in ("check", "preview", "submit", "approve", "dismiss"):
        response = world.client.post(f"/exceptions/{world.theirs.rejection_id}/{action}")
        assert response.status_code == 404, action
    assert world.client.get(f"/exceptions/{world.theirs.rejection_id}/bytes").status_code == 404


def test_an_operator_sees_every_force_and_filters(world: World) -> None:
    world.sign_in("olive")
    everything = world.page("/")
    for rejected in (world.mine, world.theirs, world.junk):
        assert str(rejected.rejection_id) in everything
    only_01 = world.page("/?force=01")
    assert str(world.theirs.rejection_id) in only_01
    assert str(world.mine.rejection_id) not in only_01
    by_code = world.page("/?code=UNDECODABLE")
    assert str(world.junk.rejection_id) in by_code
    assert str(world.mine.rejection_id) not in by_code
    by_urn = world.page(f"/?urn={world.mine.case_urn}")
    assert str(world.mine.rejection_id) in by_urn
    assert str(world.theirs.rejection_id) not in by_urn
    assert str(world.mine.rejection_id) not in world.page("/?age=4")
    assert str(world.mine.rejection_id) in world.page("/?age=2")
    for bad in ("soon", "-1", "inf", "nan"):
        assert "Enter the age as a number of hours" in world.page(f"/?age={bad}")


def test_counts_by_reason_code(world: World) -> None:
    counts = world.store.counts_by_code(Filters())
    assert counts == {"OFFENCE_UNKNOWN": 2, "UNDECODABLE": 1}


def test_live_check_runs_the_workers_rules(world: World) -> None:
    world.sign_in("alice")
    page = world.page(f"/exceptions/{world.mine.rejection_id}")
    assert 'name="f:offences[0].code"' in page
    assert 'name="f:defendant.family_name"' not in page  # not flagged, so not editable
    path = f"/exceptions/{world.mine.rejection_id}/check"
    token = csrf(page)
    good = world.client.post(
        path, data={"f:offences[0].code": "TH68010"}, headers={"X-CSRF-Token": token}
    )
    assert 'data-verdict="passes"' in good.text
    bad = world.client.post(
        path, data={"f:offences[0].code": "BA76004"}, headers={"X-CSRF-Token": token}
    )
    assert 'data-verdict="fails"' in bad.text
    assert "OFFENCE_NOT_CHARGEABLE" in bad.text


def test_correct_preview_approve_resubmit(world: World) -> None:
    rid = str(world.mine.rejection_id)
    world.sign_in("alice")
    status, preview = world.post(
        f"/exceptions/{rid}/preview",
        {"f:offences[0].code": "TH68010", "f:defendant.family_name": "Changed"},
        from_page=f"/exceptions/{rid}",
    )
    assert status == 200
    assert UNKNOWN_OFFENCE in preview
    assert "TH68010" in preview
    assert "Changed" not in preview  # a crafted edit of an unflagged field is ignored
    assert world.publisher.sent == []  # a preview sends nothing
    token = csrf(preview)
    response = world.client.post(
        f"/exceptions/{rid}/submit", data={"f:offences[0].code": "TH68010", "csrf_token": token}
    )
    assert response.status_code == 200
    assert world.store.get(rid).state is State.AWAITING_APPROVAL  # type: ignore[union-attr]
    assert 'data-testid="own-correction"' in response.text
    status, _ = world.post(f"/exceptions/{rid}/approve", {}, from_page=f"/exceptions/{rid}")
    assert status == 403  # the editor cannot approve their own correction
    assert world.publisher.sent == []

    world.sign_in("dave")
    status, _ = world.post(f"/exceptions/{rid}/approve", {}, from_page=f"/exceptions/{rid}")
    assert status == 403  # not a reviewer
    world.sign_in("bob")
    status, _page = world.post(f"/exceptions/{rid}/approve", {}, from_page=f"/exceptions/{rid}")
    assert status == 200
    assert world.store.get(rid).state is State.RESUBMITTED  # type: ignore[union-attr]
    ((force, event),) = world.publisher.sent
    assert force == "05"
    assert isinstance(event, DefendantCharged)
    assert event.offences[0].code == "TH68010"
    assert event.envelope.event_id != world.mine.event_id
    assert event.envelope.causation_id == world.mine.event_id
    assert event.defendant == with_offence_code(valid_charge(), "TH68010").defendant
    actions = [(a.user_id, a.action) for a in world.store.actions(rid)]
    assert actions == [
        ("alice", "correction proposed"),
        ("alice", "refused: approve own correction"),
        ("bob", "correction approved"),
        ("bob", "resubmitted"),
    ]
    status, _ = world.post(f"/exceptions/{rid}/approve", {}, from_page=f"/exceptions/{rid}")
    assert status == 409  # a second click publishes nothing more
    assert len(world.publisher.sent) == 1


def test_a_correction_that_still_fails_is_not_accepted(world: World) -> None:
    rid = str(world.mine.rejection_id)
    world.sign_in("alice")
    status, page = world.post(
        f"/exceptions/{rid}/preview",
        {"f:offences[0].code": "th68 010"},
        from_page=f"/exceptions/{rid}",
    )
    assert status == 422
    assert "OFFENCE_CODE_FORMAT" in page
    status, page = world.post(
        f"/exceptions/{rid}/submit",
        {"f:offences[0].code": "nonsense"},
        from_page=f"/exceptions/{rid}",
    )
    assert status == 422
    assert world.store.get(rid).state is State.OPEN  # type: ignore[union-attr]


def test_unparseable_values_get_field_messages_not_tracebacks(world: World) -> None:
    """A value the event's model cannot parse becomes a coded, field-level reason."""
    early = with_hearing(valid_charge(), date=TODAY - timedelta(days=400))
    rejected = rejection_of(early, "05", offset=7)
    assert [r.field for r in rejected.reasons] == ["first_hearing.date"]
    world.store.add_rejections("rejected", [(0, 3, rejected)])
    rid = str(rejected.rejection_id)
    world.sign_in("alice")
    status, page = world.post(
        f"/exceptions/{rid}/preview",
        {"f:first_hearing.date": "31/02/2024"},
        from_page=f"/exceptions/{rid}",
    )
    assert status == 422
    assert "SCHEMA_VIOLATION first_hearing.date" in page
    assert "Traceback" not in page
    status, page = world.post(
        f"/exceptions/{rid}/preview",
        {"f:first_hearing.date": str(TODAY + timedelta(days=3))},
        from_page=f"/exceptions/{rid}",
    )
    assert status == 200
    assert "Send for approval" in page


def test_feed_positions_resume_and_repeats_are_stored_once(world: World) -> None:
    assert world.store.positions("rejected") == {0: 3}
    assert world.store.add_rejections("rejected", [(0, 0, world.mine), (1, 5, world.theirs)]) == 0
    assert world.store.positions("rejected") == {0: 3, 1: 6}
    assert world.store.count() == 3


def test_dismiss_needs_a_reason_and_deletes_nothing(world: World) -> None:
    rid = str(world.junk.rejection_id)
    world.sign_in("alice")
    status, page = world.post(
        f"/exceptions/{rid}/dismiss", {"why": " "}, from_page=f"/exceptions/{rid}"
    )
    assert status == 422
    assert "Enter why this exception is dismissed" in page
    status, page = world.post(
        f"/exceptions/{rid}/dismiss", {"why": "sender will resend"}, from_page=f"/exceptions/{rid}"
    )
    assert status == 200
    kept = world.store.get(rid)
    assert kept is not None
    assert kept.state is State.DISMISSED
    assert kept.dismissed_reason == "sender will resend"
    assert kept.value == world.junk.value
    assert rid not in world.page("/")
    assert rid in world.page("/?state=dismissed")


def test_undecodable_bytes_are_shown_as_hex_and_downloadable(world: World) -> None:
    rid = str(world.junk.rejection_id)
    world.sign_in("alice")
    page = world.page(f"/exceptions/{rid}")
    assert world.junk.value[:16].hex(" ") in page
    download = world.client.get(f"/exceptions/{rid}/bytes")
    assert download.status_code == 200
    assert download.content == world.junk.value
    assert "attachment" in download.headers["content-disposition"]


def test_users_file_round_trip_and_roles_checked_against_registry(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    alice = User("alice", "Alice", hash_password(PASSWORD), force="05", reviewer=True)
    save_users(path, {"alice": alice})
    assert path.stat().st_mode & 0o777 == 0o600
    loaded = load_users(path, registry())
    assert loaded == {"alice": alice}
    assert verify_password(loaded["alice"], PASSWORD)
    assert not verify_password(loaded["alice"], PASSWORD + "!")
    assert not verify_password(None, PASSWORD)
    save_users(path, {"x": User("x", "X", alice.password_hash, force="99")})
    with pytest.raises(Exception, match="not in the registry"):
        load_users(path, registry())


def test_a_failed_publish_keeps_the_approval_and_can_be_retried(world: World) -> None:
    from kafka.errors import KafkaTimeoutError

    rid = str(world.mine.rejection_id)
    world.sign_in("alice")
    world.post(
        f"/exceptions/{rid}/submit",
        {"f:offences[0].code": "TH68010"},
        from_page=f"/exceptions/{rid}",
    )
    world.sign_in("bob")
    sent = world.publisher.sent

    def unreachable(force: str, event: CaseEvent) -> str:
        raise KafkaTimeoutError("broker down")

    world.services.publish = unreachable
    status, page = world.post(f"/exceptions/{rid}/approve", {}, from_page=f"/exceptions/{rid}")
    assert status == 503
    assert "approve again" in page
    assert world.store.get(rid).state is State.AWAITING_APPROVAL  # type: ignore[union-attr]
    world.services.publish = world.publisher
    status, _ = world.post(f"/exceptions/{rid}/approve", {}, from_page=f"/exceptions/{rid}")
    assert status == 200
    assert world.store.get(rid).state is State.RESUBMITTED  # type: ignore[union-attr]
    assert len(sent) == 1


def test_replay_dry_run_then_one_approval_for_the_batch(world: World, tmp_path: Path) -> None:
    def summary(user: str) -> str:
        world.sign_in(user)
        _, page = world.post("/replay", {"code": "OFFENCE_UNKNOWN"}, from_page="/replay")
        found = re.search(r'data-testid="replay-summary">([^<]+)<', page)
        assert found is not None
        return found.group(1)

    assert summary("alice") == "0 of 1 would now pass"
    updated = StandingData.load(standing_with_offence(tmp_path / "standing", UNKNOWN_OFFENCE))
    world.services.validation = ValidationContext(updated)
    assert summary("olive") == "2 of 2 would now pass"
    assert summary("alice") == "1 of 1 would now pass"
    assert world.publisher.sent == []  # a dry run sends nothing

    token = csrf(world.page("/replay"))
    response = world.client.post(
        "/replay/propose", data={"code": "OFFENCE_UNKNOWN", "csrf_token": token}
    )
    assert response.status_code == 200
    batch = str(response.url)
    rid = str(world.mine.rejection_id)
    assert world.store.get(rid).state is State.AWAITING_APPROVAL  # type: ignore[union-attr]
    assert world.store.get(str(world.theirs.rejection_id)).state is State.OPEN  # type: ignore[union-attr]
    status, _ = world.post(f"{batch}/approve", {}, from_page=batch)
    assert status == 403  # the proposer cannot approve their own batch

    world.sign_in("carol")
    assert world.client.get(batch).status_code == 404  # another force's batch
    world.sign_in("bob")
    status, _ = world.post(f"{batch}/approve", {}, from_page=batch)
    assert status == 200
    ((force, event),) = world.publisher.sent
    assert force == "05"
    assert isinstance(event, DefendantCharged)
    assert event.offences[0].code == UNKNOWN_OFFENCE  # sent unchanged: the data caught up
    assert event.envelope.causation_id == world.mine.event_id
    assert world.store.get(rid).state is State.RESUBMITTED  # type: ignore[union-attr]


def test_where_is_my_event_searches_only_the_users_forces(world: World) -> None:
    tracker = world.services.track
    assert isinstance(tracker, FakeTracker)
    world.sign_in("alice")
    page = world.page("/track?q=05XX1234567")
    assert 'data-testid="timeline"' in page
    assert "ACCEPTED" in page
    world.sign_in("olive")
    world.page("/track?q=05XX1234567")
    assert "Enter an event id or a case URN" in world.page("/track?q=" + "x" * 65)
    assert tracker.searched == [
        (["05"], "05XX1234567"),
        ([f.code for f in registry().forces], "05XX1234567"),
    ]
    assert ("olive", "searched") in [(a.user_id, a.action) for a in world.store.actions()]


def worker_metrics(received: int, rejected: int) -> str:
    """The worker's metrics in the Prometheus text format, as the panel scrapes them."""
    return (
        "# TYPE cjsx_events_received_total counter\n"
        f'cjsx_events_received_total{{force="05"}} {received}\n'
        "# TYPE cjsx_deliveries_total counter\n"
        f'cjsx_deliveries_total{{recipient="court-magistrates"}} {received - rejected}\n'
        "# TYPE cjsx_rejection_reasons_total counter\n"
        f'cjsx_rejection_reasons_total{{force="05",reason="OFFENCE_UNKNOWN"}} {rejected}\n'
        f'cjsx_rejection_reasons_total{{force="05",reason="ASN_FORMAT"}} {rejected // 2}\n'
        "# TYPE cjsx_consumer_lag_seconds gauge\n"
        'cjsx_consumer_lag_seconds{recipient="court-magistrates"} 4.0\n'
    )


def test_operators_panel_draws_the_workers_metrics(world: World) -> None:
    from cjsx.cli.status import parse_metrics

    history = world.services.metrics
    history.add(parse_metrics(worker_metrics(100, 10)), NOW)
    history.add(parse_metrics(worker_metrics(150, 20)), NOW + timedelta(seconds=5))
    panel = history.panel()
    assert panel.rate_in == [10.0]
    assert [(b.label, b.value, b.width) for b in panel.reasons] == [
        ("OFFENCE_UNKNOWN", 20.0, 1.0),
        ("ASN_FORMAT", 10.0, 0.5),
    ]
    world.sign_in("alice")
    assert world.client.get("/operators").status_code == 404
    world.sign_in("olive")
    page = world.page("/operators")
    assert 'data-testid="received">150<' in page
    assert 'data-testid="rejections-by-code"' in page
    assert "court-magistrates" in page


def test_preview_shows_what_each_recipient_would_receive() -> None:
    advised = valid_charge().model_copy(update={"charging_advice": "Charge theft (synthetic)"})
    views = {v.recipient: v for v in recipient_views(advised, standing(), registry(), policy())}
    assert set(views) == {"cps-mersey-cheshire", "court-magistrates"}
    assert views["cps-mersey-cheshire"].withheld == []
    assert views["court-magistrates"].withheld == ["charging_advice"]
    pre_charge = valid_pre_charge()
    delivered = {
        v.recipient: v.delivered
        for v in recipient_views(pre_charge, standing(), registry(), policy())
    }
    assert delivered.get("court-magistrates", False) is False
    assert any(delivered.values())


def test_the_preview_page_lists_the_recipients(world: World) -> None:
    rid = str(world.mine.rejection_id)
    world.sign_in("alice")
    _, preview = world.post(
        f"/exceptions/{rid}/preview",
        {"f:offences[0].code": "TH68010"},
        from_page=f"/exceptions/{rid}",
    )
    assert 'data-testid="recipients"' in preview
    assert "CPS Mersey-Cheshire" in preview
    assert "HMCTS magistrates&#39; courts" in preview


def test_a_session_expires_after_its_idle_time(
    tmp_path: Path, password_hash: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The session cookie's age is itsdangerous's clock: moved by hand, so a slow sign-in on a
    # loaded machine cannot outlive the session before the first page (it once did).
    now = [1_800_000_000]
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _self: now[0])
    store = ConsoleStore(f"sqlite:///{tmp_path / 'console.sqlite'}", record=FakeActionLog())
    services = Services(
        store=store,
        users={"alice": User("alice", "Alice", password_hash, force="05")},
        registry=registry(),
        validation=ValidationContext(standing()),
        publish=FakePublisher(),
        codec=codec(),
        track=FakeTracker(),
        metrics=MetricsHistory(None),
    )
    settings = ConsoleSettings(
        console_secret_key="test-key-" + "y" * 32,
        console_session_minutes=1,
        cache_dir=tmp_path,
    )
    try:
        with TestClient(create_app(settings, services), base_url="https://testserver") as client:
            page = client.get("/sign-in")
            client.post(
                "/sign-in",
                data={"username": "alice", "password": PASSWORD, "csrf_token": csrf(page.text)},
            )
            assert client.get("/", follow_redirects=False).status_code == 200
            cookie = client.cookies.get("cjsx_console")
            assert cookie is not None
            now[0] += 59
            assert client.get("/", follow_redirects=False).status_code == 200  # still fresh
            now[0] += 61  # the cookie the browser kept is now two minutes old
            client.cookies.set("cjsx_console", cookie, domain="testserver")  # the browser kept it
            response = client.get("/", follow_redirects=False)
            assert response.status_code == 303
            assert response.headers["location"] == "/sign-in"
    finally:
        store.close()


def test_the_console_store_is_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    """It keeps rejected events whole (case data): the file and its WAL companions 0600, a
    folder it makes 0700, as the partner SDK's store."""
    import os
    import stat

    previous = os.umask(0o022)
    try:
        store = ConsoleStore(
            f"sqlite:///{tmp_path / 'console' / 'console.sqlite'}", record=FakeActionLog()
        )
        with store.engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE probe (x INTEGER)")
        files = list((tmp_path / "console").iterdir())
        assert {p.name for p in files} >= {"console.sqlite", "console.sqlite-wal"}
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert stat.S_IMODE((tmp_path / "console").stat().st_mode) == 0o700
        store.close()
    finally:
        os.umask(previous)


# -- every action in the chained audit log (docs/console.md, "The audit log") -----------------


def recorded(world: World) -> list[tuple[str, str, str | None, str]]:
    """(user, action code, rejection id, outcome) of every act sent to the audit log."""
    return [(a.user_id, a.code.value, a.rejection_id, a.outcome) for a in world.audit.acts]


def test_each_step_of_a_correction_is_sent_to_the_audit_log_with_who_and_the_case(
    world: World,
) -> None:
    rid = str(world.mine.rejection_id)
    world.sign_in("alice")
    world.post(
        f"/exceptions/{rid}/submit",
        {"f:offences[0].code": "TH68010"},
        from_page=f"/exceptions/{rid}",
    )
    world.post(f"/exceptions/{rid}/approve", {}, from_page=f"/exceptions/{rid}")
    world.sign_in("bob")
    world.post(f"/exceptions/{rid}/approve", {}, from_page=f"/exceptions/{rid}")
    assert [r for r in recorded(world) if r[1] != "VIEW_EXCEPTION"] == [
        ("alice", "SIGN_IN", None, "DONE"),
        ("alice", "PROPOSE_CORRECTION", rid, "DONE"),
        ("alice", "APPROVE_REFUSED", rid, "REFUSED"),
        ("bob", "SIGN_IN", None, "DONE"),
        ("bob", "APPROVE", rid, "DONE"),
        ("bob", "RESUBMIT", rid, "DONE"),
    ]
    # Each opening of the exception's page (its case data) is a consultation, recorded too:
    # the forms' pages and the page each action redirects to.
    views = [r for r in recorded(world) if r[1] == "VIEW_EXCEPTION"]
    assert {(user, rejection) for user, _, rejection, _ in views} == {("alice", rid), ("bob", rid)}
    assert len(views) == 5
    ((_, sent),) = world.publisher.sent
    (resubmit,) = [a for a in world.audit.acts if a.code.value == "RESUBMIT"]
    # The store adds what it knows of the exception: whose case, which events.
    assert resubmit.case_urn == world.mine.case_urn
    assert resubmit.force == "05"
    assert resubmit.event_id == str(world.mine.event_id)
    assert resubmit.correction_event_id == str(sent.envelope.event_id)
    assert resubmit.detail == "ingest.05/0/0"  # where the correction was published
    # The console's own journal still reads as before: the exception's lifecycle.
    assert [a.action for a in world.store.actions(rid)] == [
        "correction proposed",
        "refused: approve own correction",
        "correction approved",
        "resubmitted",
    ]


def test_an_action_the_audit_log_does_not_take_is_not_done(world: World) -> None:
    rid = str(world.mine.rejection_id)
    world.sign_in("alice")
    page = world.page(f"/exceptions/{rid}")
    world.audit.refuse = True
    response = world.client.post(
        f"/exceptions/{rid}/dismiss", data={"why": "sender will resend", "csrf_token": csrf(page)}
    )
    assert response.status_code == 503
    assert "could not record this, so it was not done" in response.text
    assert world.store.get(rid).state is State.OPEN  # type: ignore[union-attr]
    assert world.store.actions(rid) == []  # the journal entry was rolled back with it
    # Case data is not shown unless its consultation was recorded.
    opened = world.client.get(f"/exceptions/{rid}")
    assert opened.status_code == 503
    assert UNKNOWN_OFFENCE not in opened.text
    assert world.client.get(f"/exceptions/{rid}/bytes").status_code == 503

    world.audit.refuse = False
    status, _ = world.post(
        f"/exceptions/{rid}/dismiss", {"why": "sender will resend"}, from_page=f"/exceptions/{rid}"
    )
    assert status == 200
    assert world.store.get(rid).state is State.DISMISSED  # type: ignore[union-attr]
    dismissed = [a for a in world.audit.acts if a.code.value == "DISMISS"]
    assert len(dismissed) == 1
    assert dismissed[0].detail is None  # the reason typed is kept in the store only


def test_a_refused_resubmission_record_leaves_the_exception_awaiting_approval(
    world: World,
) -> None:
    rid = str(world.mine.rejection_id)
    world.sign_in("alice")
    world.post(
        f"/exceptions/{rid}/submit",
        {"f:offences[0].code": "TH68010"},
        from_page=f"/exceptions/{rid}",
    )
    world.sign_in("bob")
    page = world.page(f"/exceptions/{rid}")
    world.audit.refuse = True
    response = world.client.post(f"/exceptions/{rid}/approve", data={"csrf_token": csrf(page)})
    assert response.status_code == 503
    assert world.publisher.sent == []  # the approval was not recorded, so nothing was sent
    assert world.store.pending(rid).reviewer is None  # type: ignore[union-attr]
    world.audit.refuse = False
    status, _ = world.post(f"/exceptions/{rid}/approve", {}, from_page=f"/exceptions/{rid}")
    assert status == 200
    assert world.store.get(rid).state is State.RESUBMITTED  # type: ignore[union-attr]


def test_sign_in_failures_are_recorded_without_what_was_typed(world: World) -> None:
    page = world.client.get("/sign-in")
    for name, password in (("alice", "not her password"), (PASSWORD, PASSWORD)):
        response = world.client.post(
            "/sign-in",
            data={"username": name, "password": password, "csrf_token": csrf(page.text)},
        )
        assert response.status_code == 401
    # A known user's failure names them; a name the console does not know is "?" (it may
    # be a password typed into the wrong box).
    assert recorded(world) == [
        ("alice", "SIGN_IN_REFUSED", None, "REFUSED"),
        ("?", "SIGN_IN_REFUSED", None, "REFUSED"),
    ]
    assert all(
        PASSWORD not in repr(a) and "not her password" not in repr(a) for a in world.audit.acts
    )


def test_a_search_records_identifiers_only(world: World) -> None:
    world.sign_in("alice")
    world.page("/track?q=05XX1234567")
    world.page("/track?q=Jane Synthetic")
    searches = [a for a in world.audit.acts if a.code.value == "SEARCH"]
    assert [a.detail for a in searches] == ["05XX1234567", None]


def test_the_record_of_an_act_says_who_in_which_role_and_never_a_password(
    password_hash: str,
) -> None:
    users = {"bob": User("bob", "Bob", password_hash, force="05", reviewer=True)}
    log = ActionLog(
        bootstrap_servers="unused:9092",
        topic="unused",
        principal="exchange-console",
        users=users,
        clock=FixedClock(NOW),
    )
    act = Act("bob", ActionCode.APPROVE, "r-1", correction_event_id=str(uuid.UUID(int=7)))
    record = log.record(act.about("05XX1234567", "05", str(uuid.UUID(int=3))))
    assert record.user_id == "bob"
    assert record.role == "force 05, reviewer"
    assert record.action == "APPROVE"
    assert record.outcome == "DONE"
    assert record.acted_at == NOW
    assert record.recorded_by == "exchange-console"
    assert (record.case_urn, record.force) == ("05XX1234567", "05")
    assert record.event_id == uuid.UUID(int=3)
    assert record.correction_event_id == uuid.UUID(int=7)
    assert password_hash not in record.model_dump_json()
    assert log.record(Act("?", ActionCode.SIGN_IN_REFUSED, outcome="REFUSED")).role == "unknown"
    assert set(LABELS) == set(ActionCode)  # every code has its journal wording


def test_a_throttled_sign_in_is_recorded_as_refused(world: World) -> None:
    def attempt(user: str, password: str) -> int:
        page = world.client.get("/sign-in")
        form = {"username": user, "password": password, "csrf_token": csrf(page.text)}
        return world.client.post("/sign-in", data=form, follow_redirects=False).status_code

    assert [attempt("alice", "wrong") for _ in range(5)] == [401] * 5
    assert attempt("alice", PASSWORD) == 429
    assert attempt("nobody we know", PASSWORD) == 429
    assert recorded(world)[-2:] == [
        ("alice", "SIGN_IN_THROTTLED", None, "REFUSED"),
        ("?", "SIGN_IN_THROTTLED", None, "REFUSED"),
    ]
