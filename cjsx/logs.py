"""Structured (JSON) logging for every process.

Log records carry identifiers and codes only (event id, case URN, reason code, topic); never
names, dates of birth or addresses from a case file. Callers pass facts as ``extra`` fields.
"""

from __future__ import annotations

import logging.config
from typing import Any

_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
_CHATTY = ("aiokafka", "kafka", "faust", "mode")


def logging_config(level: str = "INFO", *, json: bool = True) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` document: one stderr handler, JSON lines by default.

    Faust's worker takes the same document, so its own log lines are JSON too.
    """
    formatter: dict[str, Any] = (
        {"()": "pythonjsonlogger.json.JsonFormatter", "fmt": _FORMAT}
        if json
        else {"format": _FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "main",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        # Pinned explicitly: Faust's worker otherwise leaves these at DEBUG, and building
        # a debug record for every message sent cost the worker about 6% of its time.
        "loggers": {name: {"level": level.upper()} for name in _CHATTY},
    }


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    logging.config.dictConfig(logging_config(level, json=json))
