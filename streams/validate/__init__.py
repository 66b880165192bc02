"""Validation: the contract's domain rules, the sender binding and the CloudEvents headers,
with stable reason codes."""

from streams.validate.headers import check_headers
from streams.validate.rules import ValidationContext, validate_event
from streams.validate.sender import check_sender

__all__ = ["ValidationContext", "check_headers", "check_sender", "validate_event"]
