"""Benchmark: a delivery's bytes through its pydantic model against the spliced path (ADR 0014).

Run: ``.venv/bin/python -m bench.deliveries [--events N] [--rounds R]``. Prints one JSON
object: CPU microseconds per delivery each way (the same events, each recipient kind's
projection, both paths alternately, the best round of each) and the spliced path's cost as a
fraction of the model path's.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from bench.pipeline import valid_events
from schemas.codec import Codec
from schemas.ids import derived_id
from schemas.models import OrderingFlag
from streams.enrich import enrich
from streams.outputs import DeliveryTerms, OutputFactory
from streams.reference import StandingData
from streams.route import load_policy, project


def measure(events: int, rounds: int, seed: int = 1) -> dict[str, Any]:
    codec = Codec()
    factory = OutputFactory(codec)
    standing = StandingData.load()
    policy = load_policy()
    prepared = [(e, codec.encode(e), enrich(e, standing, None)) for e in valid_events(events, seed)]

    def cpu_per_delivery(splice: bool) -> float:
        made = 0
        started = time.process_time()
        for event, value, enrichment in prepared:
            bodies = factory.bodies(event, value)
            datum = enrichment.to_avro()
            for kind in ("cps", "court"):
                rules = policy.for_kind(kind)
                seen = project(event, rules)
                if seen is None:
                    continue
                terms = DeliveryTerms(
                    delivery_id=derived_id(event.envelope.event_id, kind),
                    recipient=kind,
                    ordering=OrderingFlag.IN_ORDER,
                    policy_version=policy.version,
                    purpose=rules.purpose,
                    legal_basis=rules.legal_basis,
                    delivered_by="exchange-worker",
                    now=event.envelope.published_at,
                )
                body = bodies.of(seen) if splice else None
                factory.delivery(
                    "bench",
                    event=seen,
                    body=body,
                    enrichment=enrichment,
                    enrichment_datum=datum,
                    terms=terms,
                )
                made += 1
        return (time.process_time() - started) / made * 1e6

    model: list[float] = []
    spliced: list[float] = []
    for _ in range(rounds):
        model.append(cpu_per_delivery(splice=False))
        spliced.append(cpu_per_delivery(splice=True))
    return {
        "benchmark": "deliveries",
        "events": events,
        "rounds": rounds,
        "model_us_per_delivery": round(min(model), 1),
        "spliced_us_per_delivery": round(min(spliced), 1),
        "spliced_to_model": round(min(spliced) / min(model), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(measure(args.events, args.rounds)))


if __name__ == "__main__":
    main()
