"""The section 62 audit log: one hash chain of every disclosure and every console action,
and its one writer.

``chain`` is pure (link a record, verify a log); ``auditor`` moves disclosures from the
worker's internal topic and console actions from the console's into the audit topic,
transactionally. See ``docs/audit.md``.
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
    VerifyResult,
    canonical_content,
    decode_link,
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
    "StoredRecord",
    "VerifyResult",
    "canonical_content",
    "decode_link",
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
