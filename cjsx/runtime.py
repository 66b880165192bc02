"""Resolve what every command needs from ``Settings``: the broker, the registry, the topics,
and who this process is to the broker (its principal and credentials)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from cjsx.settings import Settings
from common.errors import CjsxError
from infra.broker.node import BrokerSecurity, KafkaCluster
from infra.broker.provision import lib_dir
from infra.registry import REGISTRY_FILE, Registry, load_registry
from infra.security.local import local_security
from infra.security.policy import ADMIN
from infra.security.secrets import Credentials, delivery_key
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
        return self.fresh_registry()

    def fresh_registry(self) -> Registry:
        """The registry as the file says now (not cached: a worker re-reads it to follow)."""
        registry = load_registry.__wrapped__(self.settings.registry_file or REGISTRY_FILE)
        if self.settings.forces:
            registry = registry.limited_to(self.settings.forces.split(","))
        return registry

    @cached_property
    def catalog(self) -> TopicCatalog:
        return TopicCatalog(self.registry, namespace=self.settings.topic_namespace)

    @cached_property
    def security(self) -> BrokerSecurity | None:
        return local_security(self.settings.secrets_dir) if self.settings.security else None

    @cached_property
    def credentials(self) -> Credentials:
        return Credentials(self.settings.secrets_dir)

    def delivery_key(self) -> bytes:
        """The workers' shared secret behind delivery ids (``infra.security.secrets``)."""
        try:
            return delivery_key(self.settings.secrets_dir)
        except ValueError as error:
            raise CjsxError(str(error)) from None

    def principal(self, default: str) -> str:
        """This process's principal: ``CJSX_PRINCIPAL`` if set, else the command's default."""
        return self.settings.principal or default

    def password(self, principal: str) -> str:
        given = self.settings.password
        if given is not None and principal == self.settings.principal:
            return given.get_secret_value()
        return self.credentials.password(principal)

    def client_config(self, principal: str = ADMIN) -> dict[str, Any]:
        """kafka-python settings to connect as ``principal`` (empty without security)."""
        if self.security is None:
            return {}
        who = self.principal(principal)
        return self.security.client(who, self.password(who))

    def faust_credentials(self, principal: str) -> Any:
        """Faust/aiokafka credentials to connect as ``principal`` (None without security)."""
        if self.security is None:
            return None
        import faust

        who = self.principal(principal)
        context = ssl.create_default_context(cafile=str(self.security.ca_cert))
        return faust.SASLCredentials(
            username=who,
            password=self.password(who),
            ssl_context=context,
            mechanism="SCRAM-SHA-512",
        )
