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

__all__ = [
    "GENESIS_HASH",
    "Auditor",
    "AuditorError",
    "AuditorFenced",
    "AuditorStats",
    "Break",
    "BreakKind",
    "Head",
    "VerifyResult",
    "canonical_content",
    "link",
    "read_head",
    "read_log",
    "record_hash",
    "transactional_id",
    "verify",
    "verify_encoded",
]
