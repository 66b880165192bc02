"""What a force system uses: publish events durably, follow their receipts."""

from producers.outbox import Outbox, OutboxCode, OutboxError
from producers.publisher import PublishCode, Publisher, PublishRefused, Sent
from producers.receipts import ReceiptWatcher

__all__ = [
    "Outbox",
    "OutboxCode",
    "OutboxError",
    "PublishCode",
    "PublishRefused",
    "Publisher",
    "ReceiptWatcher",
    "Sent",
]
