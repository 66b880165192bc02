"""The section 62 disclosure log: a hash chain of every disclosure, and its one writer.

``chain`` is pure (link a record, verify a log); ``auditor`` moves disclosures from the
worker's internal topic into the audit topic, transactionally. See ``docs/audit.md``.
"""

from streams.audit.auditor import (
    Auditor,
    AuditorError,
    AuditorFenced,
    AuditorStats,
    read_head,
    read_log,
    read_stored,
    transactional_id,
)
from streams.audit.chain import (
    GENESIS_HASH,
    Break,
    BreakKind,
    Head,
    VerifyResult,
    canonical_content,
    link,
    record_hash,
    verify,
    verify_encoded,
)
from streams.audit.signing import SIGNATURE_HEADER, StoredRecord, key_id, sign, signed_by

__all__ = [
    "GENESIS_HASH",
    "SIGNATURE_HEADER",
    "Auditor",
    "AuditorError",
    "AuditorFenced",
    "AuditorStats",
    "Break",
    "BreakKind",
    "Head",
    "StoredRecord",
    "VerifyResult",
    "canonical_content",
    "key_id",
    "link",
    "read_head",
    "read_log",
    "read_stored",
    "record_hash",
    "sign",
    "signed_by",
    "transactional_id",
    "verify",
    "verify_encoded",
]
