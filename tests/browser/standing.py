"""A standing-data update for tests: the shipped snapshot plus one offence."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

from streams.reference.standing import DATA_DIR, OFFENCES_FILE


def standing_with_offence(folder: Path, code: str) -> Path:
    """A copy of the shipped standing data with one more chargeable offence: an update."""
    shutil.copytree(DATA_DIR, folder)
    path = folder / OFFENCES_FILE
    offences = json.loads(gzip.decompress(path.read_bytes()))
    offences.append([code, "Synthetic offence added by a standing-data update", "CE", True])
    path.write_bytes(gzip.compress(json.dumps(offences).encode()))
    return folder
