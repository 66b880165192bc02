"""A force system as a process of its own, for the outbox proof: it publishes prepared events
(fixed ids) at a steady rate and notes each one the ``Publisher`` has taken (committed to its
outbox), so that a test can SIGKILL it at any moment and start a successor where it stopped.

    python -m tests.support.force_publisher EVENTS PROGRESS --start N ...
"""

from __future__ import annotations

import argparse
import base64
import os
import time
from pathlib import Path

from infra.security.local import local_security
from infra.security.secrets import Credentials
from producers.publisher import Publisher
from schemas.codec import Codec
from schemas.models import CaseEvent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("events", type=Path, help="one base64 Avro event per line")
    parser.add_argument("progress", type=Path, help="the index of each event taken is appended")
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--rate", type=float, default=25.0, help="events per second")
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--secrets-dir", type=Path, required=True)
    parser.add_argument("--principal", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--outbox-dir", type=Path, required=True)
    parser.add_argument("--flush-seconds", type=float, default=300.0)
    args = parser.parse_args()

    codec = Codec()
    events = [codec.decode(base64.b64decode(line)) for line in args.events.read_text().split()]
    client = local_security(args.secrets_dir).client(
        args.principal, Credentials(args.secrets_dir).password(args.principal)
    )
    publisher = Publisher(
        bootstrap_servers=args.bootstrap,
        topic=args.topic,
        outbox_dir=args.outbox_dir,
        **client,
    )
    fd = os.open(args.progress, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    started = time.monotonic()
    for i in range(args.start, len(events)):
        event = events[i]
        assert isinstance(event, CaseEvent)
        publisher.publish(event)  # committed to the outbox when this returns
        os.write(fd, f"{i}\n".encode())
        pause = started + (i - args.start + 1) / args.rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    os.close(fd)
    try:
        publisher.flush(timeout=args.flush_seconds)
    finally:
        left = publisher.pending()
        publisher.close(timeout=0)
    print(f"done; {left} event(s) left in the outbox", flush=True)
    raise SystemExit(0 if left == 0 else 3)


if __name__ == "__main__":
    main()
