"""What a force (or a partner) uses to read the court results the exchange delivers to it.

A force reads its own results topic (``cjs.results.<force>.v1``), a CPS area its partner
results topic; each record is a ``ResultDelivery``: the court's ``HearingResulted`` with the
exchange's enrichment (result titles, PNC disposal codes and, for the force, the PNC update
triggers each result raises). Redeliveries carry the same ``delivery_id``; a reader that
stores results keeps one per id.
"""

from __future__ import annotations

from typing import Any

from kafka import KafkaConsumer

from schemas.codec import Codec, CodecError
from schemas.models import ResultDelivery


class ResultsReader:
    """Court results from one results topic, in case order per case URN.

    ``group_id`` None reads from the start without committing (a viewer); give the force's
    or partner's consumer group (``TopicCatalog.force_group``/``partner_group`` prefix, which
    the ACLs allow) to resume where the last reader stopped.
    """

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        topic: str,
        group_id: str | None = None,
        codec: Codec | None = None,
        **client: Any,
    ) -> None:
        self.codec = codec or Codec()
        self.undecodable = 0
        """Records on the topic that are not ``ResultDelivery`` (none the exchange writes)."""
        self.consumer = KafkaConsumer(
            topic,
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            enable_auto_commit=group_id is not None,
            auto_offset_reset="earliest",
            **client,
        )

    def poll(self, timeout_ms: int = 500) -> list[ResultDelivery]:
        """The results that arrived within ``timeout_ms``, in arrival order."""
        found: list[ResultDelivery] = []
        for records in self.consumer.poll(timeout_ms=timeout_ms, max_records=2000).values():
            for record in records:
                try:
                    found.append(self.codec.decode_as(record.value or b"", ResultDelivery))
                except CodecError:
                    self.undecodable += 1
        return found

    def close(self) -> None:
        self.consumer.close()

    def __enter__(self) -> ResultsReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
