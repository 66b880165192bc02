"""Resolve the Apache Kafka broker's jars from Maven Central into an ignored cache folder.

Kafka's release tarball is not reachable from here, but its artifacts are on Maven Central;
``pom.xml`` beside this module pins the broker and the log4j2 jars its POM leaves out
(see docs/adr/0001-broker-from-maven-central.md). Resolution runs once; later calls reuse it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from common.errors import CjsxError

POM = Path(__file__).with_name("pom.xml")
_MARKER = ".complete"


class BrokerError(CjsxError):
    """The local broker could not be provisioned, started or stopped."""


def lib_dir(cache_dir: Path, kafka_version: str) -> Path:
    """Where the jars for one Kafka version live."""
    return cache_dir / "kafka" / kafka_version / "lib"


def ensure_jars(cache_dir: Path, kafka_version: str) -> Path:
    """Return the folder of broker jars, resolving them with Maven if not cached yet."""
    lib = lib_dir(cache_dir, kafka_version)
    resolve_jars(POM, lib, kafka_version, expect=f"kafka_2.13-{kafka_version}.jar")
    return lib


def resolve_jars(pom: Path, lib: Path, kafka_version: str, *, expect: str) -> None:
    """Copy ``pom``'s runtime dependencies into ``lib`` with Maven, once (a marker file says
    it finished); ``expect`` names a jar that must be there afterwards."""
    if (lib / _MARKER).exists():
        return
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerError("Maven (mvn) is required to fetch Kafka's jars from Maven Central")
    if lib.exists():
        shutil.rmtree(lib)
    lib.mkdir(parents=True)
    command = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(pom),
        f"-Dkafka.version={kafka_version}",
        "dependency:copy-dependencies",
        f"-DoutputDirectory={lib.resolve()}",
        "-DincludeScope=runtime",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BrokerError(f"mvn could not resolve {pom.name}:\n{result.stdout[-4000:]}")
    if not (lib / expect).exists():
        raise BrokerError(f"{expect} missing after resolution in {lib}")
    (lib / _MARKER).write_text(kafka_version)
