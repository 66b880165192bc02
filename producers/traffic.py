"""Mixed synthetic traffic with known intent: what each published record should become.

The demo, the delivery-guarantee tests and the benchmarks all publish the same kinds of mix:
valid case stories, one event per fault family, exact resends, content duplicates under new
ids, cases published out of order, and cases with a gap that never fills. Each planned record
says what the exchange must make of it, so results can be checked against intent.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from producers.publisher import Publisher
from producers.simulator import Fault, SyntheticForce
from schemas.models import CaseEvent


class Intent(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    RESEND = "resend"  # exact resend: same event id
    CONTENT_DUPLICATE = "content-duplicate"  # same content, new event id


@dataclass(frozen=True, slots=True)
class Planned:
    """One record to publish and what it is meant to be."""

    force: str
    intent: Intent
    event: CaseEvent | None
    raw: bytes | None = None
    fault: Fault | None = None

    @property
    def expected_outcome(self) -> str:
        return {
            Intent.VALID: "accepted",
            Intent.INVALID: "rejected",
            Intent.RESEND: "duplicate",
            Intent.CONTENT_DUPLICATE: "duplicate",
        }[self.intent]


@dataclass
class TrafficMix:
    """Proportions of one force's traffic (counts per force)."""

    cases: int = 40
    resends: int = 4
    content_duplicates: int = 4
    out_of_order_cases: int = 3
    gap_cases: int = 1
    faults_each: int = 1


@dataclass
class Traffic:
    planned: list[Planned] = field(default_factory=list)
    gap_cases: set[str] = field(default_factory=set)
    out_of_order_cases: set[str] = field(default_factory=set)

    def expected(self) -> Counter[tuple[str, str]]:
        """(force, outcome) → count the exchange must report."""
        return Counter((p.force, p.expected_outcome) for p in self.planned)

    def published(self) -> Counter[str]:
        return Counter(p.force for p in self.planned)


def _story(sim: SyntheticForce, at_least: int = 1) -> list[CaseEvent]:
    story = sim.case_story()
    while len(story) < at_least:
        story = sim.case_story()
    return story


def plan_force(sim: SyntheticForce, mix: TrafficMix, seed: int, traffic: Traffic) -> None:
    """Append one force's mixed traffic to ``traffic``."""
    force = sim.profile.force
    shuffle = random.Random(seed)  # noqa: S311 - synthetic traffic, not security
    valid: list[CaseEvent] = []
    for _ in range(mix.cases):
        story = _story(sim)
        valid += story
        traffic.planned += [Planned(force, Intent.VALID, e) for e in story]
    for _ in range(mix.out_of_order_cases):
        story = _story(sim, at_least=2)
        traffic.out_of_order_cases.add(story[0].envelope.case_urn)
        traffic.planned += [Planned(force, Intent.VALID, e) for e in reversed(story)]
    for _ in range(mix.gap_cases):
        story = _story(sim, at_least=2)
        traffic.gap_cases.add(story[0].envelope.case_urn)
        traffic.planned += [Planned(force, Intent.VALID, e) for e in story[1:]]
    for event in shuffle.sample(valid, min(mix.resends, len(valid))):
        traffic.planned.append(Planned(force, Intent.RESEND, event))
    for event in shuffle.sample(valid, min(mix.content_duplicates, len(valid))):
        traffic.planned.append(
            Planned(force, Intent.CONTENT_DUPLICATE, sim.content_duplicate(event))
        )
    for fault in Fault:
        for _ in range(mix.faults_each):
            made = sim.faulty(fault)
            if isinstance(made, bytes):
                traffic.planned.append(Planned(force, Intent.INVALID, None, raw=made, fault=fault))
            else:
                traffic.planned.append(Planned(force, Intent.INVALID, made, fault=fault))


def plan(sims: Sequence[SyntheticForce], mix: TrafficMix, seed: int = 0) -> Traffic:
    traffic = Traffic()
    for i, sim in enumerate(sims):
        plan_force(sim, mix, seed + i, traffic)
    return traffic


def publish(items: Iterable[Planned], publishers: dict[str, Publisher]) -> Iterator[Planned]:
    """Send each planned record with its force's publisher; yields each as it is sent."""
    for item in items:
        publisher = publishers[item.force]
        if item.event is not None:
            publisher.publish(item.event)
        else:
            publisher.send_raw(b"undecodable", item.raw or b"")
        yield item
