"""Validation: the contract's domain rules and the sender binding, with stable reason codes."""

from streams.validate.rules import ValidationContext, validate_event
from streams.validate.sender import check_sender

__all__ = ["ValidationContext", "check_sender", "validate_event"]
