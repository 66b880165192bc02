"""The small store interface stateful stages see.

In the worker a Faust table (RocksDB with a changelog topic) stands behind it, so state
survives restarts; in unit tests a dict does. Values are bytes: each stage owns its encoding.
"""

from __future__ import annotations

from typing import Protocol


class KeyValueStore(Protocol):
    """A partition-local key-value store keyed by text."""

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, value: bytes) -> None: ...

    def delete(self, key: str) -> None: ...


class DictStore:
    """In-memory ``KeyValueStore`` for tests and for tools that need no durability."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self.data.get(key)

    def put(self, key: str, value: bytes) -> None:
        self.data[key] = value

    def delete(self, key: str) -> None:
        self.data.pop(key, None)
