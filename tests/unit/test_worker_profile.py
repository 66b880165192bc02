"""The worker profile's parts: each sample goes to the part of its innermost own frame."""

from __future__ import annotations

import pytest

from bench.worker_profile import OTHER, part_of, summarise

SITE = "/srv/.venv/lib/python3.11/site-packages"
AGENT = f"_execute_actor ({SITE}/faust/agents/agent.py:674);run_batches (/srv/streams/app.py:400)"


@pytest.mark.parametrize(
    ("stack", "part"),
    [
        (
            f"{AGENT};process (/srv/streams/pipeline.py:186);encode (/srv/schemas/codec.py:58)",
            "stages: decide each record",
        ),
        (f"{AGENT};take_events ({SITE}/faust/streams.py:480)", "faust: streams, consumer, commits"),
        (
            f"{AGENT};flush (/srv/streams/state.py:90);_set ({SITE}/faust/tables/table.py:88)",
            "state: tables, RocksDB",
        ),
        (
            f"{AGENT};observe (/srv/streams/continuity.py:40)",
            "worker's batch loop (continuity, metrics)",
        ),
        (
            f"{AGENT};emit (/srv/streams/emitter.py:70);send ({SITE}/aiokafka/producer.py:1)",
            "aiokafka: fetch, produce, protocol",
        ),
        (
            f"run (/srv/streams/lag/collector.py:50);poll ({SITE}/kafka/consumer/group.py:700)",
            "lag collector, commit watch",
        ),
        ("_run_once (/usr/lib/python3.11/asyncio/base_events.py:1900)", OTHER),
    ],
    ids=["stages", "faust", "state", "batch-loop", "aiokafka", "kafka-python", "other"],
)
def test_a_sample_belongs_to_its_innermost_frame_with_a_part(stack: str, part: str) -> None:
    assert part_of(stack) == part


def test_shares_are_of_all_samples_and_add_up() -> None:
    raw = "\n".join(
        [
            f"{AGENT};process (/srv/streams/pipeline.py:186) 30",
            f"{AGENT};take_events ({SITE}/faust/streams.py:480) 10",
            "select (/usr/lib/python3.11/selectors.py:468) 60",
        ]
    )
    summary = summarise(raw, top=2)
    assert summary["samples"] == 100
    assert summary["parts"]["stages: decide each record"] == 0.3
    assert summary["parts"][OTHER] == 0.6
    assert abs(sum(summary["parts"].values()) - 1.0) < 1e-9
    assert summary["top_leaf_functions"][0]["share"] == 0.6
    assert len(summary["top_leaf_functions"]) == 2
