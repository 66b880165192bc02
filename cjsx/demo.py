"""``make demo``: the whole exchange on a fresh local broker, end to end, with a summary.

Starts a real Kafka 4.x node and a stream worker process, has synthetic forces publish a few
hundred case-file events (some invalid on purpose, some resent, some out of order), runs each
partner's subscriber into its own SQLite store, follows every event's receipts, and prints
totals that must add up: published = accepted + rejected + duplicate, every accepted event
delivered, every delivery acknowledged. It ends with a force correcting one rejected event in
the exceptions console (:mod:`cjsx.demo_console`). With ``--hold`` (the default at a terminal)
the exchange and the console stay up for a person to open until Ctrl-C. Everything it starts
is stopped on exit or Ctrl-C.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from rich.console import Console
from rich.table import Table

from cjsx.cli.status import Scrape, fetch
from cjsx.demo_console import DemoConsole
from cjsx.demo_gateway import DemoGateway
from cjsx.demo_results import result_charges, run_courts
from cjsx.settings import Settings
from common import processes
from consumers.store import PartnerStore, StoreCounts
from consumers.subscriber import Subscriber, SubscriberStats
from infra.broker.node import BrokerSecurity, KafkaCluster, free_port
from infra.broker.provision import ensure_jars
from infra.prometheus.server import PrometheusServer, find_binary
from infra.registry import load_registry
from infra.security.access import admin_client, apply_acls, apply_users
from infra.security.local import local_security
from infra.security.policy import ADMIN, OPERATOR, force_principal, principals
from infra.security.secrets import Credentials
from infra.topics import TopicCatalog, apply_topics
from producers.profiles import force_profile
from producers.publisher import Publisher
from producers.receipts import ReceiptWatcher
from producers.simulator import Fault, SyntheticForce
from producers.traffic import Intent, Planned, Traffic, TrafficMix, plan, publish
from schemas.codec import Codec
from schemas.models import ActionAuditRecord, ConsoleAction, DefendantCharged, ReceiptStatus
from streams.audit.auditor import read_log
from streams.audit.chain import VerifyResult, verify_encoded
from streams.reference import StandingData

DEMO_FORCES = ("01", "05", "93")
GATEWAY_FORCE = "93"
"""The force whose systems post their valid traffic over HTTPS through the gateway."""
GATEWAY_BATCH = 25
CORRECTING_FORCE = "01"
"""The force whose staff correct a rejected charge in the console at the end of the demo."""


@dataclass
class AuditView:
    """The audit log as the demo reads it: the chain's verdict and what it holds."""

    result: VerifyResult
    disclosures: int = 0
    actions: list[ConsoleAction] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return self.result.first_break is None


@dataclass
class Published:
    """What one force published, by intent, so the summary can check the exchange."""

    event_ids: list[str] = field(default_factory=list)
    count: int = 0


class Demo:
    def __init__(self, settings: Settings, console: Console, mix: TrafficMix | None = None) -> None:
        self.settings = settings
        self.console = console
        self.mix = mix or TrafficMix()
        self.traffic = Traffic()
        self.home = (settings.cache_dir / "demo").resolve()
        self.registry = load_registry().limited_to(list(DEMO_FORCES))
        self.catalog = TopicCatalog(self.registry)
        self.cluster: KafkaCluster | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.auditor: subprocess.Popen[bytes] | None = None
        self.prometheus: PrometheusServer | None = None
        self.console_app: DemoConsole | None = None
        self.gateway: DemoGateway | None = None
        self.via_gateway = 0
        self.gateway_refusal: tuple[int, list[str]] = (0, [])
        self.env: dict[str, str] = {}
        self.published_total = 0
        self.disclosed_total = 0
        self.secrets_dir = self.home / "secrets"
        self.security: BrokerSecurity | None = None
        self.web_port = free_port()
        self.published: dict[str, Published] = {f: Published() for f in DEMO_FORCES}

    # -- lifecycle ---------------------------------------------------------------------------

    def run(self, hold: bool = False) -> bool:
        try:
            self._start()
            self._publish()
            watcher = self._await_outcomes()
            stores = self._run_partners()
            self._await_acknowledgements(watcher)
            ok = self._summary(watcher, stores)
            ok &= (
                self.via_gateway > 0
                and self.gateway_refusal[0] == 400
                and "COURT_UNKNOWN" in self.gateway_refusal[1]
            )
            ok &= self._console_correction(watcher)
            ok &= self._court_results(watcher)
            self.console.print(
                "[bold green]All numbers add up.[/]"
                if ok
                else "[bold red]Numbers do NOT add up.[/]"
            )
            if hold:
                self._hold()
            return ok
        finally:
            self._stop()

    def _step(self, text: str) -> None:
        self.console.print(f"[bold cyan]>[/] {text}")

    def _start(self) -> None:
        # A fresh world each run: the broker, the worker's state and the partners' stores.
        shutil.rmtree(self.home, ignore_errors=True)
        lib = ensure_jars(self.settings.cache_dir, self.settings.kafka_version)
        self._step(
            f"Starting Apache Kafka {self.settings.kafka_version} (KRaft, one node) with "
            "SASL/SCRAM over TLS and the authorizer on"
        )
        security = local_security(self.secrets_dir)
        self.security = security
        self.cluster = KafkaCluster.create(
            self.home / "broker", lib, heap=self.settings.broker_heap, security=security
        )
        self.cluster.start()
        created = apply_topics(self.catalog, self.cluster.bootstrap, **self.client(ADMIN))
        names = principals(self.registry)
        passwords = Credentials(self.secrets_dir).ensure(names)
        admin = admin_client(self.cluster.bootstrap, self.client(ADMIN))
        try:
            apply_users(admin, {n: passwords[n] for n in names})
            acls = apply_acls(admin, self.catalog, worker_app_id=self.settings.worker_id)
        finally:
            admin.close()
        self._step(
            f"Broker up at {self.cluster.bootstrap}: {len(created)} topics from "
            f"infra/topics.toml, {len(names)} principals and {len(acls.created)} ACLs from "
            "infra/registry.toml; starting the stream worker (Faust) as exchange-worker"
        )
        self.env = env = {
            "CJSX_BOOTSTRAP_SERVERS": self.cluster.bootstrap,
            "CJSX_SECRETS_DIR": str(self.secrets_dir),
            "CJSX_FORCES": ",".join(DEMO_FORCES),
            "CJSX_CACHE_DIR": str(self.home),
            "CJSX_WORKER_WEB_PORT": str(self.web_port),
            "CJSX_ORDER_HOLD_SECONDS": "3",
        }
        self.worker = processes.spawn(
            [sys.executable, "-m", "cjsx", "worker"], log=self.home / "worker.log", env=env
        )
        self.auditor = processes.spawn(
            [sys.executable, "-m", "cjsx", "auditor"], log=self.home / "auditor.log", env=env
        )
        if not processes.wait_for(self._metrics_up, 60):
            raise RuntimeError(f"worker did not start; see {self.home / 'worker.log'}")
        self.gateway = DemoGateway(self.home, env, security.ca_cert, DEMO_FORCES).start()
        self._step(
            f"CloudEvents HTTP gateway at {self.gateway.url} (TLS from the local CA, a bearer "
            "token per force)"
        )
        if find_binary() is not None:
            self.prometheus = PrometheusServer(
                self.home / "prometheus", [f"127.0.0.1:{self.web_port}"]
            ).start()
            self._step(f"Prometheus scraping the worker at {self.prometheus.url}")

    def client(self, principal: str) -> dict[str, Any]:
        """kafka-python settings to connect as ``principal``."""
        assert self.security is not None
        password = Credentials(self.secrets_dir).password(principal)
        return self.security.client(principal, password)

    def stop(self) -> None:
        """Stop everything the demo started (safe to call twice)."""
        self._stop()

    def _stop(self) -> None:
        if self.console_app is not None:
            self.console_app.stop()
        if self.gateway is not None:
            self.gateway.stop()
        if self.prometheus is not None:
            self.prometheus.stop()
        if self.auditor is not None:
            processes.stop(self.auditor)
        if self.worker is not None:
            processes.stop(self.worker)
        if self.cluster is not None:
            self.cluster.stop()

    def _metrics_up(self) -> bool:
        try:
            self._scrape()
        except OSError:
            return False
        return True

    # -- traffic -----------------------------------------------------------------------------

    def _publish(self) -> None:
        assert self.cluster is not None
        standing = StandingData.load()
        sims = [SyntheticForce(force_profile(standing, f), seed=int(f)) for f in DEMO_FORCES]
        self.traffic = plan(sims, self.mix)
        publishers = {
            f: Publisher(
                bootstrap_servers=self.cluster.bootstrap,
                topic=self.catalog.ingest(f),
                **self.client(force_principal(f)),
            )
            for f in DEMO_FORCES
        }
        assert self.gateway is not None
        gateway, batch = self.gateway, list[Planned]()

        def through_gateway() -> None:
            if batch:
                gateway.post_batch(GATEWAY_FORCE, [i.event for i in batch if i.event])
                for item in batch:
                    self._count(item)
                self.via_gateway += len(batch)
                batch.clear()

        try:
            for item in self.traffic.planned:
                if (
                    item.force == GATEWAY_FORCE
                    and item.event is not None
                    and item.intent is not Intent.INVALID
                ):
                    batch.append(item)
                    if len(batch) == GATEWAY_BATCH:
                        through_gateway()
                    continue
                through_gateway()
                for sent in publish([item], publishers):
                    self._count(sent)
            through_gateway()
        finally:
            for publisher in publishers.values():
                publisher.flush()
                publisher.close()
        total = sum(p.count for p in self.published.values())
        self._step(
            f"Published {total} events from forces {', '.join(DEMO_FORCES)}: valid case "
            "stories, one per fault family, resends, content duplicates, out-of-order cases "
            "and a case whose first event never comes. Force "
            f"{GATEWAY_FORCE} sent {self.via_gateway} of them over HTTPS through the CloudEvents "
            f"gateway ({gateway.requests} batched requests, each answered 202 only once the "
            "broker had acknowledged every event), the rest with its Kafka publisher"
        )
        refused = sims[DEMO_FORCES.index(GATEWAY_FORCE)].faulty(Fault.UNKNOWN_COURT)
        assert not isinstance(refused, bytes)
        status, reasons = gateway.post_refused(GATEWAY_FORCE, refused)
        self.gateway_refusal = (status, sorted({r["code"] for r in reasons}))
        self._step(
            f"The gateway answered {status} to one more event of force {GATEWAY_FORCE} with "
            f"{', '.join(self.gateway_refusal[1]) or 'no reasons'} (cjsx validate's verdict): "
            "refused before it reached the broker, so it is not counted as published"
        )

    def _count(self, item: Planned) -> None:
        record = self.published[item.force]
        record.count += 1
        if item.event is not None:
            record.event_ids.append(str(item.event.envelope.event_id))

    def _await_outcomes(self) -> ReceiptWatcher:
        assert self.cluster is not None
        expected = {e for p in self.published.values() for e in p.event_ids}
        # The demo watches every force's receipts at once, so it reads as the admin.
        watcher = ReceiptWatcher(
            bootstrap_servers=self.cluster.bootstrap,
            topics=[self.catalog.receipts(f) for f in DEMO_FORCES],
            **self.client(ADMIN),
        )
        self._step("Waiting for every event's receipt (held events wait out their gap)")

        def all_settled(w: ReceiptWatcher) -> bool:
            seen = {str(k) for k, s in w.statuses.items() if s.outcome is not None}
            accepted = [s for s in w.statuses.values() if s.outcome is ReceiptStatus.ACCEPTED]
            return expected <= seen and all(s.delivered_to for s in accepted)

        if not watcher.wait_until(all_settled, timeout=120):
            self.console.print("[red]timed out waiting for receipts[/]")
        return watcher

    def _run_partners(self) -> dict[str, tuple[SubscriberStats, StoreCounts]]:
        assert self.cluster is not None

        self._step("Running each partner's subscriber into its own store (SQLite)")
        results: dict[str, tuple[SubscriberStats, StoreCounts]] = {}
        for partner in self.registry.partners:
            path = self.home / "partners" / f"{partner.id}.sqlite"
            path.parent.mkdir(parents=True, exist_ok=True)
            store = PartnerStore.sqlite(str(path))
            subscriber = Subscriber(
                bootstrap_servers=self.cluster.bootstrap,
                topic=self.catalog.deliver(partner.id),
                group_id=self.catalog.partner_group(partner.id),
                store=store,
                acks_topic=self.catalog.acks(partner.id),
                **self.client(partner.id),
            )
            try:
                stats = subscriber.run(idle_timeout=1.5)
            finally:
                subscriber.close()
            counts = store.counts()
            store.close()
            if stats.received or counts.deliveries:
                results[partner.id] = (stats, counts)
        return results

    def _rejected_without_event(self) -> Counter[str]:
        """Rejected records that never became an event (undecodable bytes), per force: the
        rejected topic keeps their bytes; their receipts name where they arrived."""
        assert self.cluster is not None
        from kafka import KafkaConsumer

        from schemas.models import RejectedEvent

        codec = Codec()
        consumer = KafkaConsumer(
            self.catalog.rejected,
            bootstrap_servers=self.cluster.bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            consumer_timeout_ms=3000,
            **self.client(OPERATOR),
        )
        found: Counter[str] = Counter()
        try:
            for record in consumer:
                rejected = codec.decode_as(record.value, RejectedEvent)
                if rejected.event_id is None:
                    found[rejected.force or "unknown"] += 1
        finally:
            consumer.close()
        return found

    def _audit_log(self) -> AuditView:
        assert self.cluster is not None
        values = list(
            read_log(self.cluster.bootstrap, self.catalog.audit, client=self.client(OPERATOR))
        )
        view = AuditView(verify_encoded(values))
        codec = Codec()
        for value in values:
            record = codec.decode(value)
            if isinstance(record, ActionAuditRecord):
                view.actions.append(record.action)
            else:
                view.disclosures += 1
        return view

    def _audit_summary(self, deliveries: int) -> bool:
        """Every delivery is a disclosure; the auditor chains each into the audit log."""
        processes.wait_for(lambda: self._audit_log().disclosures >= deliveries, 60, interval=1.0)
        view = self._audit_log()
        self.console.print(
            f"Audit log (read as operator): {view.disclosures} disclosures chained for "
            f"{deliveries} deliveries; chain intact: {'yes' if view.intact else 'NO'} "
            "(cjsx audit verify)"
        )
        self.disclosed_total = deliveries
        return view.intact and view.disclosures == deliveries

    def _await_acknowledgements(self, watcher: ReceiptWatcher) -> None:
        self._step("Waiting for partners' acknowledgements to come back as receipts")
        watcher.wait_until(
            lambda w: all(s.delivered_to <= s.acknowledged_by for s in w.statuses.values()),
            timeout=60,
        )

    # -- summary -----------------------------------------------------------------------------

    def _summary(
        self, watcher: ReceiptWatcher, stores: dict[str, tuple[SubscriberStats, StoreCounts]]
    ) -> bool:
        undecodable = self._rejected_without_event()
        by_force: dict[str, Counter[str]] = {f: Counter() for f in DEMO_FORCES}
        for (force, status), n in watcher.outcomes.items():
            if force in by_force:
                by_force[force][status.value] += n
        for event in watcher.statuses.values():
            if event.case_urn[:2] not in by_force:
                continue
            c = by_force[event.case_urn[:2]]
            if event.delivered_to:
                c["DELIVERED_EVENTS"] += 1
            c["DELIVERIES"] += len(event.delivered_to)
            c["ACKNOWLEDGED"] += len(event.acknowledged_by & event.delivered_to)
        reasons: Counter[str] = Counter()
        for (_, code), n in watcher.reasons.items():
            reasons[code] += n
        ordering_flags: Counter[str] = Counter()
        ok = True
        table = Table(title="Events by force (from receipts)")
        for column in (
            "force",
            "published",
            "accepted",
            "rejected",
            "duplicate",
            "adds up",
            "delivered",
            "deliveries",
            "acked",
        ):
            table.add_column(column, justify="right")
        totals: Counter[str] = Counter()
        for force, c in by_force.items():
            published = self.published[force]
            # Undecodable records have REJECTED receipts too; the rejected topic keeps them.
            known = c["ACCEPTED"] + c["REJECTED"] + c["DUPLICATE"]
            ok &= undecodable[force] <= c["REJECTED"]
            adds_up = known == published.count
            ok &= adds_up and c["DELIVERED_EVENTS"] == c["ACCEPTED"]
            ok &= c["ACKNOWLEDGED"] == c["DELIVERIES"]
            table.add_row(
                force,
                str(published.count),
                str(c["ACCEPTED"]),
                f"{c['REJECTED']}",
                str(c["DUPLICATE"]),
                "[green]yes[/]" if adds_up else "[red]NO[/]",
                str(c["DELIVERED_EVENTS"]),
                str(c["DELIVERIES"]),
                str(c["ACKNOWLEDGED"]),
            )
            totals.update(c)
            totals["published"] += published.count
        table.add_row(
            "all",
            str(totals["published"]),
            str(totals["ACCEPTED"]),
            str(totals["REJECTED"]),
            str(totals["DUPLICATE"]),
            "",
            str(totals["DELIVERED_EVENTS"]),
            str(totals["DELIVERIES"]),
            str(totals["ACKNOWLEDGED"]),
            style="bold",
        )
        self.console.print(table)

        reason_table = Table(title="Rejections by reason code (an event may have several)")
        reason_table.add_column("reason")
        reason_table.add_column("count", justify="right")
        for code, count in sorted(reasons.items()):
            reason_table.add_row(code, str(count))
        self.console.print(reason_table)

        partner_table = Table(title="Partner stores (exactly once: stored = deliveries)")
        for column in ("partner", "received", "stored", "redelivered", "cases", "quarantined"):
            partner_table.add_column(column, justify="right")
        for partner, (stats, counts) in sorted(stores.items()):
            partner_table.add_row(
                partner,
                str(stats.received),
                str(counts.deliveries),
                str(stats.redelivered),
                str(counts.cases),
                str(counts.quarantined),
            )
        self.console.print(partner_table)
        stored = sum(counts.deliveries for _, counts in stores.values())
        ok &= stored == totals["DELIVERIES"]

        metric_total = self._events_counted()
        ordering_flags.update(
            {f: int(n) for f, n in self._scrape().by("cjsx_deliveries_total", "ordering").items()}
        )
        self.console.print(
            f"Worker metrics (http://127.0.0.1:{self.web_port}/metrics): "
            f"cjsx_events_total = {metric_total:.0f} (published {totals['published']}); "
            "deliveries by ordering: "
            + ", ".join(f"{flag} {n}" for flag, n in sorted(ordering_flags.items()))
        )
        ok &= int(metric_total) == totals["published"]
        if self.prometheus is not None:
            self.prometheus.wait_for_scrapes()
            result = self.prometheus.query("sum(cjsx_events_total)")
            seen = float(result[0]["value"][1]) if result else 0.0
            self.console.print(
                f"Prometheus ({self.prometheus.url}) sees sum(cjsx_events_total) = {seen:.0f}; "
                "Grafana dashboards for it are in infra/grafana/dashboards/ "
                "(provisioning in infra/grafana/provisioning/)"
            )
        else:
            self.console.print(
                "Prometheus is not installed here (Debian package `prometheus`); dashboards "
                "are in infra/grafana/dashboards/"
            )
        ok &= self._audit_summary(totals["DELIVERIES"])
        self.published_total = totals["published"]
        return ok

    def _scrape(self) -> Scrape:
        return fetch(f"http://127.0.0.1:{self.web_port}/metrics", timeout=2)

    def _events_counted(self) -> float:
        """The worker's ``cjsx_events_total``: every record it received, by outcome."""
        return self._scrape().total("cjsx_events_total")

    # -- the exceptions console ------------------------------------------------------------------

    def _console_correction(self, watcher: ReceiptWatcher) -> bool:
        """A force's editor corrects a rejected charge in the console, a reviewer approves,
        and the corrected event is followed to its receipts like any other."""
        planned = next(
            p
            for p in self.traffic.planned
            if p.force == CORRECTING_FORCE
            and p.fault is Fault.UNKNOWN_OFFENCE
            and p.event is not None
        )
        assert planned.event is not None
        urn = planned.event.envelope.case_urn
        self._step(
            f"Starting the exceptions console; force {CORRECTING_FORCE}'s editor corrects case "
            f"{urn} (OFFENCE_UNKNOWN), a reviewer approves, the console resubmits it"
        )
        self.console_app = DemoConsole(self.home, CORRECTING_FORCE, self.env).start()
        profile = force_profile(StandingData.load(), CORRECTING_FORCE)
        done = self.console_app.correct_offence(
            urn, [*profile.offences[:10], *profile.indictable_offences[:5]]
        )

        def resubmitted(w: ReceiptWatcher) -> list[Any]:
            return [
                s
                for s in w.statuses.values()
                if s.case_urn == urn and s.outcome is ReceiptStatus.ACCEPTED
            ]

        watcher.wait_until(lambda w: any(s.delivered_to for s in resubmitted(w)), timeout=60)
        self._run_partners()
        watcher.wait_until(
            lambda w: any(
                s.delivered_to and s.delivered_to <= s.acknowledged_by for s in resubmitted(w)
            ),
            timeout=60,
        )
        found = resubmitted(watcher)
        status = found[0] if found else None
        delivered = sorted(status.delivered_to) if status else []
        acked = sorted(status.acknowledged_by) if status else []

        def console_shows_acks() -> bool:
            assert self.console_app is not None
            seen = self.console_app.receipts_seen(done.exception)
            return bool(acked) and seen["acknowledged"] == ", ".join(acked)

        console_agrees = processes.wait_for(console_shows_acks, 30, interval=0.5)
        counted = self._events_counted()
        disclosures = self.disclosed_total + len(delivered)
        wanted = {"PROPOSE_CORRECTION", "APPROVE", "RESUBMIT"}

        latest: list[AuditView] = []

        def chained() -> bool:
            latest.append(self._audit_log())
            done = {a.action for a in latest[-1].actions if a.case_urn == urn}
            return latest[-1].disclosures >= disclosures and wanted <= done

        processes.wait_for(chained, 60, interval=1.0)
        view = latest[-1]
        steps = [f"{a.action} by {a.user_id}" for a in view.actions if a.case_urn == urn]
        self.console.print(
            f"Console correction: {done.before} → {done.after} in offences[0].code; state "
            f"'{done.state}'; the corrected event was "
            f"{status.outcome.value if status and status.outcome else 'NOT ACCEPTED'}, "
            f"delivered to {', '.join(delivered) or 'nobody'}, acknowledged by "
            f"{', '.join(acked) or 'nobody'}; the console shows the same: "
            f"{'yes' if console_agrees else 'NO'}"
        )
        self.console.print(
            f"Worker metrics now: cjsx_events_total = {counted:.0f} "
            f"({self.published_total} published by the forces + 1 correction)"
        )
        self.console.print(
            f"Audit log now: {view.disclosures} disclosures ({disclosures} deliveries) and "
            f"{len(view.actions)} console actions in one chain; this case's: "
            f"{', '.join(steps) or 'none'}; chain intact: {'yes' if view.intact else 'NO'}"
        )
        return (
            view.intact
            and view.disclosures == disclosures
            and wanted <= {a.action for a in view.actions if a.case_urn == urn}
            and done.state == "resubmitted"
            and status is not None
            and bool(delivered)
            and delivered == acked
            and console_agrees
            and int(counted) == self.published_total + 1
        )

    def _gateway_hint(self) -> str:
        """README's "Connect a force system" example, against this exchange."""
        if self.gateway is None or self.security is None:
            return ""
        url, token = self.gateway.url, self.gateway.tokens["01"]
        ca = self.security.ca_cert
        return (
            f"CloudEvents gateway: {url}/ ; force 01's token: {token}\n"
            '  grep -m1 \'"type":"uk.gov.cjsx.CaseFileSubmitted"\' docs/wire-format.md '
            "> event.json\n"
            f'  curl --cacert {ca} -H "Authorization: Bearer {token}" '
            '-H "Content-Type: application/cloudevents+json" '
            f"--data-binary @event.json {url}/forces/01/events\n"
        )

    # -- the other direction: court results ----------------------------------------------------

    def _court_results(self, watcher: ReceiptWatcher) -> bool:
        """Courts result charged cases; results go back to the force and to CPS."""
        assert self.cluster is not None
        delivered = {
            str(k): s
            for k, s in watcher.statuses.items()
            if s.outcome is ReceiptStatus.ACCEPTED and s.delivered_to
        }
        charges = [
            p.event
            for p in self.traffic.planned
            if p.intent is Intent.VALID
            and isinstance(p.event, DefendantCharged)
            and str(p.event.envelope.event_id) in delivered
        ]
        chosen = result_charges(charges, self.catalog)
        cps_partners = {p.id for p in self.registry.partners if p.kind == "cps"}
        cps_by_case = {
            s.case_urn: next(iter(sorted(s.delivered_to & cps_partners)), None)
            for s in delivered.values()
        }
        self._step(
            f"Courts result {len(chosen)} charged cases (forces "
            f"{', '.join(sorted({c.envelope.force for c in chosen}))}), each court publisher "
            "on its own topic with its own credentials, plus one result for an offence never "
            "charged"
        )
        round_ = run_courts(
            self.cluster.bootstrap, self.catalog, self.client, chosen, cps_by_case.get
        )
        accepted = round_.outcomes["ACCEPTED"]
        triggers = round_.triggers
        cps_triggers = sum(len(r.triggers) for d in round_.to_cps for r in d.enrichment.results)
        counted = self._events_counted()
        expected_count = self.published_total + 1 + len(round_.published)
        self.console.print(
            f"Court results: published {len(round_.published)} = accepted {accepted} + "
            f"rejected {round_.outcomes['REJECTED']} + duplicate {round_.outcomes['DUPLICATE']} "
            f"({'adds up' if round_.adds_up else 'does NOT add up'}); rejected for "
            f"{', '.join(sorted(round_.reasons)) or 'nothing'}; "
            f"{len(round_.to_force)} delivered to the charging forces with triggers "
            f"{', '.join(f'{c} ({n})' for c, n in sorted(triggers.items())) or 'none'}; "
            f"{len(round_.to_cps)} to CPS, with {cps_triggers} triggers (minimised)"
        )
        self.console.print(
            f"Worker metrics now: cjsx_events_total = {counted:.0f} ({self.published_total} "
            f"from the forces + 1 correction + {len(round_.published)} court results)"
        )
        return (
            round_.adds_up
            and accepted == len(chosen) > 0
            and round_.reasons["RESULT_OFFENCE_NOT_CHARGED"] == 1
            and len(round_.to_force) == accepted
            and len(round_.to_cps) == accepted
            and bool(triggers)
            and cps_triggers == 0
            and int(counted) == expected_count
        )

    def _hold(self) -> None:
        """Keep everything up for a person until Ctrl-C (or SIGTERM)."""
        assert self.console_app is not None
        editor, reviewer = self.console_app.editor, self.console_app.reviewer
        self.console.print(
            f"\n[bold]The exchange is up.[/] Exceptions console: {self.console_app.url}/\n"
            f"  sign in as {editor.id} (editor) with password {editor.password}\n"
            f"  or as {reviewer.id} (reviewer) with password {reviewer.password}\n"
            + self._gateway_hint()
            + f"Worker metrics: http://127.0.0.1:{self.web_port}/metrics"
            + (f"; Prometheus: {self.prometheus.url}" if self.prometheus else "")
            + "\nPress Ctrl-C to stop everything.",
            soft_wrap=True,  # the commands above stay on one line each, to copy
        )
        stop = processes.stop_requested()
        while not stop.wait(1.0):
            pass


def run_demo(settings: Settings, hold: bool = False) -> bool:
    console = Console(width=110)
    started = time.monotonic()
    demo = Demo(settings, console)

    def interrupted(_signum: int, _frame: FrameType | None) -> None:
        # Client libraries may swallow KeyboardInterrupt in their waits, so stop here, now.
        console.print("[yellow]Interrupted: stopping everything the demo started[/]")
        demo.stop()
        os._exit(130)

    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    ok: bool = demo.run(hold=hold)
    console.print(f"Demo finished in {time.monotonic() - started:.0f}s; everything stopped.")
    return ok
