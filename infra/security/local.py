"""The local security material a broker and its clients share: TLS files and passwords."""

from __future__ import annotations

from pathlib import Path

from infra.broker.node import BrokerSecurity
from infra.security.pki import ensure_tls
from infra.security.policy import ADMIN, BROKER, CONTROLLER
from infra.security.secrets import Credentials


def local_security(secrets_dir: Path) -> BrokerSecurity:
    """TLS certificates and the super users' passwords in ``secrets_dir`` (made once)."""
    tls = ensure_tls(secrets_dir)
    passwords = Credentials(secrets_dir).ensure([BROKER, CONTROLLER, ADMIN])
    return BrokerSecurity(
        ca_cert=tls.ca_cert,
        keystore=tls.broker_keystore,
        broker_password=passwords[BROKER],
        controller_password=passwords[CONTROLLER],
        admin_password=passwords[ADMIN],
    )
