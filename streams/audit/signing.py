"""Proof of who wrote an audit record: an Ed25519 signature only the auditor can make.

The hash chain shows that records were not changed, removed or reordered, but anyone who may
write the audit topic (the ``admin`` super user, the broker's own principals) can append a
record that chains correctly. So the auditor signs each record's ``hash`` with a private key
that only it holds, and puts the signature in the record's Kafka header
:data:`SIGNATURE_HEADER`. A verifier needs only the public key: it can check, but not make,
signatures, so operators and the Information Commissioner can verify without being able to
forge. Why a signature rather than a MAC, the producer id or a plain header:
``docs/adr/0006-audit-writer-proof.md``.

The signature covers the record's ``hash``, which covers every other field and the record
before it; the verifier recomputes the hash from the content first, so a signature cannot be
moved to another record.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SIGNATURE_HEADER = "cjsx_audit_signature"
"""The Kafka header that carries the auditor's signature of the record's hash."""

_CONTEXT = b"cjs-exchange audit record v1\x00"
"""Domain separation: a signature made for an audit record means nothing anywhere else."""


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """An audit record as stored: its value, and the signature header (``None`` if absent)."""

    value: bytes
    signature: bytes | None = None


def sign(key: Ed25519PrivateKey, record_hash: str) -> bytes:
    """The auditor's signature of one record's hash."""
    return key.sign(_CONTEXT + record_hash.encode("ascii"))


def signed_by(key: Ed25519PublicKey, record_hash: str, signature: bytes | None) -> bool:
    """Whether ``signature`` is the holder of ``key``'s signature of ``record_hash``."""
    if signature is None:
        return False
    try:
        key.verify(signature, _CONTEXT + record_hash.encode("ascii"))
    except (InvalidSignature, UnicodeEncodeError):
        return False
    return True


def key_id(key: Ed25519PublicKey) -> str:
    """A short fingerprint of a public key, for operators to note and compare."""
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]
