"""Resolve what every command needs from ``Settings``: the broker, the registry, the topics."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from cjsx.errors import CjsxError
from cjsx.settings import Settings
from infra.broker.node import KafkaCluster
from infra.broker.provision import lib_dir
from infra.registry import Registry, load_registry
from infra.topics import TopicCatalog


def broker_home(settings: Settings) -> Path:
    """Where ``cjsx broker up`` keeps its node(s)."""
    return settings.cache_dir / "broker"


@dataclass(frozen=True)
class Runtime:
    settings: Settings

    @cached_property
    def bootstrap(self) -> str:
        if self.settings.bootstrap_servers:
            return self.settings.bootstrap_servers
        home = broker_home(self.settings)
        lib = lib_dir(self.settings.cache_dir, self.settings.kafka_version)
        cluster = KafkaCluster.load(home, lib)
        if cluster is None or not cluster.is_running():
            raise CjsxError("no broker: run `cjsx broker up` or set CJSX_BOOTSTRAP_SERVERS")
        return cluster.bootstrap

    @cached_property
    def registry(self) -> Registry:
        registry = load_registry()
        if self.settings.forces:
            registry = registry.limited_to(self.settings.forces.split(","))
        return registry

    @cached_property
    def catalog(self) -> TopicCatalog:
        return TopicCatalog(self.registry, namespace=self.settings.topic_namespace)

    def client_config(self) -> dict[str, Any]:
        """Extra kafka-python settings (security, when the broker requires it)."""
        return {}
