"""``cjsx partner``: what a CJS partner runs to receive its deliveries and look at its cases."""

from __future__ import annotations

import json
import os

import click
from sqlalchemy.engine import make_url

from cjsx.logs import configure_logging
from cjsx.runtime import Runtime
from cjsx.settings import Settings
from common import processes
from consumers.store import PartnerStore
from consumers.subscriber import Subscriber
from infra.security.pki import owner_only_dir

_PARTNER = click.option(
    "--partner", "partner_id", required=True, help="Partner id from infra/registry.toml."
)
_STORE = click.option(
    "--store",
    "store_url",
    default=None,
    help="SQLAlchemy URL of the store (default: SQLite under the cache folder); "
    "PostgreSQL: postgresql+psycopg://user@host/db with the password in PGPASSWORD or "
    "~/.pgpass (never in the URL: arguments are visible to every local user).",
)


def _store(settings: Settings, partner_id: str, url: str | None) -> PartnerStore:
    """The partner's store; the default SQLite file sits in an owner-only folder (0700) and
    is itself owner-only (see ``PartnerStore``): it holds case data."""
    if url is not None:
        if make_url(url).password is not None:
            raise click.BadParameter(
                "the URL holds a password, which would be readable by every local user in the "
                "process list: give it in PGPASSWORD or ~/.pgpass instead",
                param_hint="--store",
            )
        return PartnerStore(url)
    folder = owner_only_dir(settings.cache_dir / "partners")
    return PartnerStore.sqlite(str(folder / f"{partner_id}.sqlite"))


@click.group()
def partner() -> None:
    """A partner's subscriber and its store."""


@partner.command()
@_PARTNER
@_STORE
@click.option("--idle-timeout", type=float, default=None, help="Stop after this many idle s.")
def run(partner_id: str, store_url: str | None, idle_timeout: float | None) -> None:
    """Receive deliveries into the store, exactly once, acknowledging each (until SIGTERM)."""
    os.umask(0o077)  # the store holds case data: anything this process creates is owner-only
    settings = Settings()
    configure_logging(settings.log_level, json=settings.log_json)
    runtime = Runtime(settings)
    if runtime.registry.partner(partner_id) is None:
        raise click.BadParameter(f"no partner {partner_id} in the registry", param_hint="--partner")
    store = _store(settings, partner_id, store_url)
    subscriber = Subscriber(
        bootstrap_servers=runtime.bootstrap,
        topic=runtime.catalog.deliver(partner_id),
        group_id=runtime.catalog.partner_group(partner_id),
        store=store,
        acks_topic=runtime.catalog.acks(partner_id),
        ack_timeout=settings.partner_ack_timeout_seconds,
        fetch_stall_timeout=settings.partner_fetch_stall_seconds,
        **runtime.client_config(partner_id),
    )
    stopping = processes.stop_requested()
    try:
        stats = subscriber.run(until=stopping.is_set, idle_timeout=idle_timeout)
    finally:
        subscriber.close()
        store.close()
    click.echo(json.dumps(stats.__dict__))


@partner.command()
@_PARTNER
@_STORE
def cases(partner_id: str, store_url: str | None) -> None:
    """One line per case the partner holds: URN, force, court, venue, status, events."""
    store = _store(Settings(), partner_id, store_url)
    try:
        for view in store.cases():
            click.echo(
                f"{view.case_urn}\t{view.force}\t{view.court_ou or '-'}\t{view.venue or '-'}\t"
                f"{view.status}\t{view.events}"
            )
    finally:
        store.close()


@partner.command()
@click.argument("urn")
@_PARTNER
@_STORE
def show(urn: str, partner_id: str, store_url: str | None) -> None:
    """The partner's view of one case and the deliveries it was built from, as JSON."""
    store = _store(Settings(), partner_id, store_url)
    try:
        view = store.case(urn)
        if view is None:
            raise click.ClickException(f"no case {urn} in {partner_id}'s store")
        click.echo(
            json.dumps(
                {"case": view.model_dump(mode="json"), "deliveries": store.events_of(urn)},
                indent=2,
            )
        )
    finally:
        store.close()
