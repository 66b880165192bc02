"""The project's root exception.

Exceptions are for faults (a broker that will not start, a missing schema file), never for
rejected data: bad input becomes a coded ``Reason`` and a receipt. The tree::

    CjsxError
    ├── infra.broker.BrokerError          the local broker could not be provisioned or run
    ├── infra.topics.TopicSpecError       the declarative topic spec is inconsistent
    ├── schemas.codec.CodecError          bytes and models could not be converted
    └── schemas.store.SchemaStoreError    the released schemas are missing or inconsistent
"""


class CjsxError(Exception):
    """Root of every exception cjs-exchange raises on purpose."""
