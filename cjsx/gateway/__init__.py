"""The CloudEvents HTTP gateway: the exchange's front door for force systems that speak HTTP.

``POST /forces/{force}/events`` takes CloudEvents 1.0 (structured, batched or binary mode),
checks each event with the worker's own rules, publishes it as the force and answers ``202``
only once the broker has acknowledged it; ``GET /forces/{force}/receipts`` reads the force's
receipts. Decision record: docs/adr/0008-gateway-bearer-tokens.md.
"""
