"""Closing a kafka-python producer that may be stuck.

kafka-python 3.0's ``KafkaProducer.close(timeout)`` flushes first and lets that flush's
``KafkaTimeoutError`` escape, so a producer with records it cannot send (a broker
unreachable, or a partition its sender no longer drains) is never force-closed: the call
raises, the I/O thread keeps running and keeps the records. ``close_producer`` gives up on
them instead, which is what a caller that keeps its own copy (an outbox, an uncommitted
consumer position) wants.
"""

from __future__ import annotations

import contextlib
import logging

from kafka import KafkaProducer
from kafka.errors import KafkaTimeoutError

log = logging.getLogger("cjsx.kafka")


def close_producer(producer: KafkaProducer, timeout: float | None = None) -> bool:
    """Close ``producer`` within about ``timeout`` seconds; True if everything it held was
    sent, False if what remained was abandoned (its futures fail)."""
    try:
        producer.close(timeout=timeout)
        return True
    except KafkaTimeoutError:
        pass
    # The flush timed out before close reached its forced path: take that path here.
    # ``_sender`` is private; kafka-python offers no public way to abandon a stuck buffer.
    sender = getattr(producer, "_sender", None)
    if sender is not None:
        sender.force_close()
        sender.join(10)
    with contextlib.suppress(KafkaTimeoutError):
        producer.close(timeout=0)  # marks it closed; the buffer is already failed
    log.warning("producer closed with records abandoned")
    return False
