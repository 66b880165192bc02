"""The console's settings: the project's one settings object, plus what only the console needs.

Read once at start-up from ``CJSX_*`` like every other deployable; the console-only fields use
the ``CJSX_CONSOLE_`` prefix.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from cjsx.settings import Settings


class ConsoleSettings(Settings):
    """Settings of ``cjsx console``."""

    console_host: str = Field(default="127.0.0.1", description="Address the console listens on.")
    console_port: int = Field(default=8480, description="Port the console listens on.")
    console_store: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the console's store (default: SQLite under cache_dir).",
    )
    console_users_file: Path | None = Field(
        default=None,
        description="Console users with argon2 hashes (default: <cache_dir>/console/users.toml).",
    )
    console_session_minutes: float = Field(
        default=30, description="A session ends after this long without a request."
    )
    console_secret_key: SecretStr | None = Field(
        default=None,
        description="Key that signs session cookies (default: a generated owner-only file).",
    )
    console_secure_cookies: bool = Field(
        default=True,
        description="Mark the session cookie Secure (browsers still send it to localhost).",
    )
    console_standing_data: Path | None = Field(
        default=None,
        description="A standing-data snapshot folder to check against (default: the shipped one).",
    )
    console_metrics_url: str | None = Field(
        default=None,
        description="The worker's /metrics for the operators' panel (default: the local worker).",
    )
    console_sign_in_limit: str = Field(
        default="5 per 15 minutes",
        description="Failed sign-ins allowed per user name and per client address.",
    )
    console_poll_seconds: float = Field(
        default=1.0, description="How often the console reads new rejections and receipts."
    )

    @property
    def console_dir(self) -> Path:
        return self.cache_dir / "console"

    @property
    def metrics_url(self) -> str:
        return (
            self.console_metrics_url
            or f"http://{self.worker_web_host}:{self.worker_web_port}/metrics"
        )

    @property
    def store_url(self) -> str:
        return self.console_store or f"sqlite:///{self.console_dir / 'console.sqlite'}"

    @property
    def users_file(self) -> Path:
        return self.console_users_file or self.console_dir / "users.toml"
