"""One settings object per deployable, read once from the environment (prefix ``CJSX_``).

Defaults are safe for a laptop: loopback only, state under ``.cache/``. SDK clients never read
the environment themselves; entry points build ``Settings`` and pass what each part needs.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration for the worker, the CLI, the demo and the test fixtures."""

    model_config = SettingsConfigDict(
        env_prefix="CJSX_", frozen=True, extra="ignore", populate_by_name=True
    )

    bootstrap_servers: str | None = Field(
        default=None,
        description="Kafka bootstrap servers; when unset, the broker `cjsx broker up` started.",
    )
    cache_dir: Path = Field(default=Path(".cache"), description="Jars, broker data, run state.")
    kafka_version: str = "4.4.0"
    broker_heap: str = Field(default="512m", description="JVM heap cap for a local broker.")
    worker_id: str = Field(default="cjsx-exchange", description="Faust application id.")
    worker_web_port: int = Field(default=6066, description="Worker HTTP port (/metrics).")
    worker_web_host: str = "127.0.0.1"
    worker_store: str = Field(default="rocksdb://", description="Faust table store URL.")
    security: bool = Field(
        default=True,
        description="Talk SASL/SCRAM-SHA-512 over TLS (the broker the project runs needs it).",
    )
    secrets_dir_override: Path | None = Field(
        default=None,
        alias="CJSX_SECRETS_DIR",
        description="TLS files and passwords (default: <cache_dir>/secrets, owner-only).",
    )
    principal: str | None = Field(
        default=None, description="Who this process is to the broker (commands have defaults)."
    )
    password: SecretStr | None = Field(
        default=None, description="The principal's password (default: the local secrets file)."
    )
    registry_file: Path | None = Field(
        default=None, description="The partner registry (default: infra/registry.toml)."
    )
    follow_interval_seconds: float = Field(
        default=30, description="How often a worker looks for forces added to the registry."
    )
    replication: int | None = Field(
        default=None,
        ge=1,
        description="Copies of each topic the exchange creates, the worker's state included "
        "(default: 3 on a cluster of three or more brokers, else one per broker).",
    )
    log_level: str = "INFO"
    log_json: bool = True
    topic_namespace: str = Field(
        default="", description="Prefix for every topic name: isolates a test or demo run."
    )
    forces: str | None = Field(
        default=None,
        description="Comma-separated force codes to serve (default: every force in the registry).",
    )
    dedup_window_days: float = Field(default=30, description="How long resends are recognised.")
    order_hold_seconds: float = Field(
        default=10, description="How long an event waits for a gap in its case's sequence."
    )
    worker_session_timeout_seconds: float = Field(
        default=15,
        description="How long the consumer group waits for a silent worker before its "
        "partitions go to another (or to the same worker restarted): a crashed worker's "
        "partitions stand still this long.",
    )
    worker_batch_size: int = Field(
        default=500,
        ge=1,
        description="Records the worker takes at once (state written once per key per batch, "
        "outputs sent together); also the most records it reads itself at a stalled commit.",
    )
    worker_commit_stall_seconds: float = Field(
        default=30,
        gt=0,
        description="How long a partition's commit may stand still before records the worker "
        "has not processed before it stops to be restarted from that commit.",
    )
    worker_table_write_buffer_mib: int = Field(
        default=8,
        ge=1,
        description="RocksDB memtable size per worker table partition (two may be held).",
    )
    worker_table_block_cache_mib: int = Field(
        default=8, ge=1, description="RocksDB block cache per worker table partition."
    )
    partner_ack_timeout_seconds: float = Field(
        default=30,
        gt=0,
        description="How long a partner waits for its acknowledgements to reach the broker "
        "before replacing its producer and reading the batch again.",
    )
    partner_fetch_stall_seconds: float = Field(
        default=60,
        gt=0,
        description="How long a partner's position may stand still with records to read "
        "before its consumer is replaced.",
    )

    @property
    def secrets_dir(self) -> Path:
        return self.secrets_dir_override or self.cache_dir / "secrets"
