"""The section 62 audit log: one hash chain of every disclosure and every console action,
and its one writer.

``chain`` is pure (derive a disclosure from a delivery record's bytes, link a record, verify
a log); ``auditor`` chains every delivery and results record the worker wrote (each one
disclosure) and the console's actions into the audit topic, transactionally. See ``docs/audit.md``.
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
    ChainRecord,
    Head,
    Source,
    SourceKey,
    VerifyResult,
    canonical_content,
    decode_link,
    disclosure_of,
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
    "ChainRecord",
    "Head",
    "Source",
    "SourceKey",
    "StoredRecord",
    "VerifyResult",
    "canonical_content",
    "decode_link",
    "disclosure_of",
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
