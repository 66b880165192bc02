"""Following the registry: when should a worker restart to serve new forces?

A worker subscribes to the ingest topics of the forces in the registry when it starts. Adding
a force is a data change (``infra/registry.toml``, then ``cjsx topics apply``); the worker
checks now and then and, once the new force's topic exists, stops so that its supervisor
restarts it with the new subscription. Nothing is lost: offsets are committed, state is in
changelogs.
"""

from __future__ import annotations

from collections.abc import Collection


def topics_to_follow(
    subscribed: Collection[str], wanted: Collection[str], existing: Collection[str]
) -> list[str]:
    """Ingest topics a worker should add (only those already created on the broker).

    A force removed from the registry does not trigger a restart: its topic may still hold
    events to process, and its ACLs are withdrawn separately.
    """
    return sorted(t for t in wanted if t not in subscribed and t in existing)
