"""The gateway's settings: the project's one settings object, plus what only the gateway needs.

Read once at start-up from ``CJSX_*`` like every other deployable; the gateway-only fields use
the ``CJSX_GATEWAY_`` prefix.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from cjsx.settings import Settings


class GatewaySettings(Settings):
    """Settings of ``cjsx gateway``."""

    gateway_host: str = Field(default="127.0.0.1", description="Address the gateway listens on.")
    gateway_port: int = Field(default=8443, description="Port the gateway listens on (HTTPS).")
    gateway_tokens_file: Path | None = Field(
        default=None,
        description="Forces' bearer tokens as argon2 hashes "
        "(default: <cache_dir>/gateway/tokens.toml, owner-only).",
    )
    gateway_tls_cert: Path | None = Field(
        default=None,
        description="The gateway's certificate chain (PEM; default: issued by the local CA).",
    )
    gateway_tls_key: Path | None = Field(
        default=None, description="The gateway's private key (PEM; default: with the cert)."
    )
    gateway_max_body_bytes: int = Field(
        default=4 * 1_048_576, ge=1, description="Largest request body accepted (else 413)."
    )
    gateway_max_batch_events: int = Field(
        default=500, ge=1, description="Most events in one batched request (else 413)."
    )
    gateway_max_in_flight: int = Field(
        default=64, ge=1, description="Requests of one force being published at once (else 429)."
    )
    gateway_rate_per_second: float = Field(
        default=500, gt=0, description="Events per second one force may post, sustained."
    )
    gateway_rate_burst: int = Field(
        default=1000, ge=1, description="Events one force may post at once above its rate."
    )
    gateway_ack_timeout_seconds: float = Field(
        default=15,
        gt=0,
        description="How long a request waits for the broker's acknowledgement (else 503).",
    )
    gateway_max_pending: int = Field(
        default=10_000,
        ge=1,
        description="Unacknowledged events one force's outbox may hold before 503.",
    )
    gateway_keep_alive_seconds: int = Field(
        default=65, ge=1, description="How long an idle client connection is kept open."
    )
    gateway_receipts_limit: int = Field(
        default=500, ge=1, description="Most receipts one GET returns."
    )

    @property
    def gateway_dir(self) -> Path:
        return self.cache_dir / "gateway"

    @property
    def tokens_file(self) -> Path:
        return self.gateway_tokens_file or self.gateway_dir / "tokens.toml"
