"""``cjsx access``: the broker's SCRAM users and ACLs, made to match the registry."""

from __future__ import annotations

import click

from cjsx.runtime import Runtime
from cjsx.settings import Settings
from infra.security.access import admin_client, apply_acls, apply_users
from infra.security.policy import principals


def apply_access(runtime: Runtime, *, prune_users: bool) -> tuple[int, int, int]:
    """Users and ACLs for the runtime's registry and namespace; (created, deleted, removed
    users)."""
    admin = admin_client(runtime.bootstrap, runtime.client_config())
    try:
        names = principals(runtime.registry)
        passwords = runtime.credentials.ensure(names)
        removed = apply_users(admin, {n: passwords[n] for n in names}, prune=prune_users)
        change = apply_acls(admin, runtime.catalog, worker_app_id=runtime.settings.worker_id)
    finally:
        admin.close()
    return len(change.created), len(change.deleted), len(removed)


@click.group()
def access() -> None:
    """Who may connect and what each may do, from infra/registry.toml."""


@access.command()
@click.option(
    "--prune/--no-prune",
    default=True,
    show_default=True,
    help="Delete users and ACLs the registry no longer grants.",
)
def apply(prune: bool) -> None:
    """Create SCRAM users and ACLs from the registry (idempotent)."""
    created, deleted, removed = apply_access(Runtime(Settings()), prune_users=prune)
    click.echo(f"ACLs: {created} created, {deleted} deleted; users removed: {removed}")
