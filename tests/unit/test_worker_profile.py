"""The worker profile's parts: each sample goes to the part of its innermost own frame."""

from __future__ import annotations

from bench.worker_profile import OTHER, part_of, summarise

SITE = "/srv/.venv/lib/python3.11/site-packages"
AGENT = f"_execute_actor ({SITE}/faust/agents/agent.py:674);run_batches (/srv/streams/app.py:400)"


def test_a_sample_belongs_to_its_innermost_frame_with_a_part() -> None:
    stages = f"{AGENT};process (/srv/streams/pipeline.py:186);encode (/srv/schemas/codec.py:58)"
    assert part_of(stages) == "stages: decide each record"
    take = f"{AGENT};take_events ({SITE}/faust/streams.py:480)"
    assert part_of(take) == "faust: streams, consumer, commits"
    flush = f"{AGENT};flush (/srv/streams/state.py:90);_set ({SITE}/faust/tables/table.py:88)"
    assert part_of(flush) == "state: tables, RocksDB"
    own = f"{AGENT};observe (/srv/streams/continuity.py:40)"
    assert part_of(own) == "worker's batch loop (continuity, metrics)"
    send = f"{AGENT};emit (/srv/streams/emitter.py:70);send ({SITE}/aiokafka/producer.py:1)"
    assert part_of(send) == "aiokafka: fetch, produce, protocol"
    poll = f"run (/srv/streams/lag/collector.py:50);poll ({SITE}/kafka/consumer/group.py:700)"
    assert part_of(poll) == "lag collector, commit watch"
    assert part_of("_run_once (/usr/lib/python3.11/asyncio/base_events.py:1900)") == OTHER


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
