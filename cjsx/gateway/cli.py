"""``cjsx gateway``: serve the CloudEvents HTTP gateway, and issue forces' tokens."""

from __future__ import annotations

import click

from cjsx.gateway.settings import GatewaySettings


def _services(settings: GatewaySettings) -> object:
    from cjsx.gateway.app import Services
    from cjsx.gateway.auth import Authenticator, load_tokens
    from cjsx.gateway.exchange import Exchange
    from cjsx.runtime import Runtime
    from streams.reference import StandingData
    from streams.validate import ValidationContext

    runtime = Runtime(settings)
    return Services(
        auth=Authenticator(load_tokens(settings.tokens_file, runtime.registry)),
        exchange=Exchange(runtime),
        validation=ValidationContext(StandingData.load()),
    )


@click.group(invoke_without_command=True)
@click.pass_context
def gateway(ctx: click.Context) -> None:
    """The CloudEvents HTTP gateway: force systems publish over HTTPS with a bearer token."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(serve)


@gateway.command()
def serve() -> None:
    """Serve the gateway (https://CJSX_GATEWAY_HOST:CJSX_GATEWAY_PORT) until interrupted."""
    import uvicorn

    from cjsx.gateway.app import Services, create_app
    from cjsx.gateway.tls import ensure_gateway_cert
    from cjsx.logs import configure_logging, logging_config

    settings = GatewaySettings()
    configure_logging(settings.log_level, json=settings.log_json)
    services = _services(settings)
    assert isinstance(services, Services)
    if not services.auth.tokens:
        click.echo(
            f"no tokens in {settings.tokens_file}: add one with `cjsx gateway add-token`", err=True
        )
    cert, key = settings.gateway_tls_cert, settings.gateway_tls_key
    if cert is None:
        cert, key = ensure_gateway_cert(settings.secrets_dir)
    app = create_app(settings, services)
    click.echo(f"gateway on https://{settings.gateway_host}:{settings.gateway_port}/", err=True)
    uvicorn.run(
        app,
        host=settings.gateway_host,
        port=settings.gateway_port,
        ssl_certfile=str(cert),
        ssl_keyfile=None if key is None else str(key),
        log_config=logging_config(settings.log_level, json=settings.log_json),
        access_log=False,
        timeout_keep_alive=settings.gateway_keep_alive_seconds,
        timeout_graceful_shutdown=int(settings.gateway_ack_timeout_seconds) + 5,
    )


@gateway.command("add-token")
@click.option("--force", "force", required=True, help="The force's two-digit PNC code.")
def add_token(force: str) -> None:
    """Issue a bearer token for a force: printed once, stored only as an argon2 hash."""
    from cjsx.gateway.auth import load_tokens, new_token, save_tokens
    from cjsx.runtime import Runtime

    settings = GatewaySettings()
    registry = Runtime(settings).registry
    if registry.force(force) is None:
        raise click.UsageError(f"force {force} is not in the registry")
    tokens = load_tokens(settings.tokens_file, registry)
    text, token = new_token(force)
    tokens[token.id] = token
    save_tokens(settings.tokens_file, tokens)
    click.echo(f"token {token.id} for force {force} saved in {settings.tokens_file}", err=True)
    click.echo(text)


@gateway.command()
def openapi() -> None:
    """Print the gateway's OpenAPI document (docs/gateway-openapi.json is this)."""
    click.echo(openapi_text(), nl=False)


def openapi_text() -> str:
    """The OpenAPI document of the application, without a broker or tokens."""
    from cjsx.gateway.app import Services, create_app
    from cjsx.gateway.auth import Authenticator
    from cjsx.gateway.openapi import render
    from streams.reference import StandingData
    from streams.validate import ValidationContext

    class _NoExchange:
        def publish(self, force: str, events: object) -> list[object]:
            raise NotImplementedError

    services = Services(
        auth=Authenticator({}),
        exchange=_NoExchange(),  # type: ignore[arg-type]  # routes only: never called
        validation=ValidationContext(StandingData.load()),
    )
    return render(create_app(GatewaySettings(), services))
