"""The gateway's TLS certificate, issued by the local CA (infra/security/pki.py) on first use.

Its own key, not the broker's: the gateway and the broker are separate deployables, and a
leaked gateway key must not let anyone pose as the broker. Force systems trust the same
``ca.pem`` they already use for the broker. For development, tests and the demo only: a real
gateway gets its certificate from the organisation's PKI (``CJSX_GATEWAY_TLS_CERT``/``_KEY``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from infra.security.pki import ensure_tls, owner_only_dir, write_private

_VALID_DAYS = 397


def ensure_gateway_cert(secrets_dir: Path) -> tuple[Path, Path]:
    """The gateway's certificate chain and key in ``secrets_dir``, made on first use (or when
    the CA has changed)."""
    owner_only_dir(secrets_dir)
    tls = ensure_tls(secrets_dir)
    cert_path, key_path = secrets_dir / "gateway.pem", secrets_dir / "gateway-key.pem"
    ca_pem = tls.ca_cert.read_bytes()
    ca_cert = x509.load_pem_x509_certificate(ca_pem)
    if cert_path.exists() and key_path.exists():
        issued = x509.load_pem_x509_certificate(cert_path.read_bytes())
        fresh = issued.not_valid_after_utc > dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        if issued.issuer == ca_cert.subject and fresh:
            return cert_path, key_path
    ca_key = serialization.load_pem_private_key((secrets_dir / "ca-key.pem").read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cjs-exchange local"),
                    x509.NameAttribute(NameOID.COMMON_NAME, "cjsx gateway"),
                ]
            )
        )
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + dt.timedelta(days=_VALID_DAYS), ca_cert.not_valid_after_utc))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    write_private(
        key_path,
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )
    cert_path.write_bytes(cert.public_bytes(pem) + ca_pem)
    return cert_path, key_path
