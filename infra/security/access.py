"""Make the real broker's SCRAM users and ACLs match the registry (idempotent).

``apply_users`` creates (or updates) a SCRAM-SHA-512 credential for every registry principal
and, with ``prune``, deletes credentials of principals the registry no longer has.
``apply_acls`` creates the grants ``policy.grants`` derives and deletes every other ALLOW
binding on the catalog's resources (its namespace), so a grant removed from the registry
is removed from the broker. Running either twice changes nothing the second time.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kafka import KafkaAdminClient
from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from infra.security.policy import SUPER_USERS, Grant, grants
from infra.topics import TopicCatalog

_MANAGED_PREFIXES = ("force-", "cps-", "court-", "exchange-", "operator")


@dataclass(frozen=True)
class AccessChange:
    created: list[Grant]
    deleted: list[Grant]


def _acl(grant: Grant) -> ACL:
    return ACL(
        principal=f"User:{grant.principal}",
        host="*",
        operation=ACLOperation[grant.operation],
        permission_type=ACLPermissionType.ALLOW,
        resource_pattern=ResourcePattern(
            ResourceType[grant.resource],
            grant.name,
            ACLResourcePatternType[grant.pattern],
        ),
    )


def _grant(acl: ACL) -> Grant | None:
    if acl.permission_type != ACLPermissionType.ALLOW or not acl.principal.startswith("User:"):
        return None
    pattern = acl.resource_pattern
    return Grant(
        principal=acl.principal.removeprefix("User:"),
        resource=pattern.resource_type.name,
        name=pattern.resource_name,
        pattern=pattern.pattern_type.name,
        operation=acl.operation.name,
    )


def _in_scope(grant: Grant, catalog: TopicCatalog, worker_app_id: str) -> bool:
    """Bindings this catalog manages: on its namespace's resources and its worker's own
    state (every binding, without a namespace)."""
    if not catalog.namespace:
        return True
    if grant.resource == "CLUSTER":
        return False  # shared by every namespace: only the un-namespaced apply prunes it
    return grant.name.startswith((f"{catalog.namespace}.", worker_app_id))


def current_grants(admin: KafkaAdminClient) -> set[Grant]:
    every = ACLFilter(
        principal=None,
        host="*",
        operation=ACLOperation.ANY,
        permission_type=ACLPermissionType.ANY,
        resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY),
    )
    acls, error = admin.describe_acls(every)
    if error is not None and getattr(error, "errno", 0) != 0:
        raise RuntimeError(f"describe ACLs failed: {error}")
    return {g for g in (_grant(a) for a in acls) if g is not None}


def apply_acls(
    admin: KafkaAdminClient, catalog: TopicCatalog, *, worker_app_id: str
) -> AccessChange:
    """Create the grants the registry implies and delete the extra ones in the catalog's
    scope."""
    wanted = grants(catalog, worker_app_id=worker_app_id)
    existing = current_grants(admin)
    create = sorted(wanted - existing)
    scoped = {g for g in existing if _in_scope(g, catalog, worker_app_id)}
    delete = sorted(g for g in scoped - wanted if g.principal not in SUPER_USERS)
    if create:
        result = admin.create_acls([_acl(g) for g in create])
        if result.get("failed"):
            raise RuntimeError(f"creating ACLs failed: {result['failed'][:3]}")
    if delete:
        admin.delete_acls([_acl(g) for g in delete])
    _await_effect(admin, catalog, worker_app_id, wanted)
    return AccessChange(create, delete)


def _await_effect(
    admin: KafkaAdminClient,
    catalog: TopicCatalog,
    worker_app_id: str,
    wanted: set[Grant],
    timeout: float = 30.0,
) -> None:
    """Return once the broker reports exactly the wanted bindings (in scope).

    ACL changes travel through the KRaft metadata log before the authorizer applies them;
    a client that connects in between would be refused what it was just granted.
    """
    deadline = time.monotonic() + timeout
    while True:
        existing = current_grants(admin)
        scoped = {g for g in existing if _in_scope(g, catalog, worker_app_id)}
        extra = {g for g in scoped - wanted if g.principal not in SUPER_USERS}
        if (wanted <= existing and not extra) or time.monotonic() > deadline:
            return
        time.sleep(0.2)


def apply_users(
    admin: KafkaAdminClient, passwords: Mapping[str, str], *, prune: bool = False
) -> list[str]:
    """Upsert each principal's SCRAM-SHA-512 credential; with ``prune``, delete managed
    principals (forces, partners, services, operators) that are not in ``passwords``."""
    mechanism = ScramMechanism.SCRAM_SHA_512
    changes: list[Any] = [
        UserScramCredentialUpsertion(user, mechanism, password)
        for user, password in sorted(passwords.items())
    ]
    removed: list[str] = []
    if prune:
        existing = admin.describe_user_scram_credentials()
        removed = sorted(
            user
            for user in existing
            if user not in passwords
            and user not in SUPER_USERS
            and user.startswith(_MANAGED_PREFIXES)
        )
        changes += [UserScramCredentialDeletion(user, mechanism) for user in removed]
    if changes:
        result = admin.alter_user_scram_credentials(changes)
        failed = {u: e for u, e in result.items() if e is not None}
        if failed:
            raise RuntimeError(f"SCRAM credential changes failed: {failed}")
    return removed


def admin_client(bootstrap: str, client: Mapping[str, Any]) -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=bootstrap, **dict(client))
