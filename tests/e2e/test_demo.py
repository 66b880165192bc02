"""`make demo` as a newcomer runs it: it finishes, its numbers add up, the console correction is
delivered, the console stays up for a person while it holds, and Ctrl-C leaves nothing running."""

from __future__ import annotations

import re
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest

from cjsx.console.client import ConsoleClient
from common import processes

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_the_demo_adds_up_holds_the_console_and_stops_everything(tmp_path: Path) -> None:
    log = tmp_path / "demo.log"
    # Its own process group, stopped whole in the finalizer (its broker, worker, console, ...).
    demo = processes.spawn([sys.executable, "-m", "cjsx", "demo", "--hold"], log=log, tied=True)
    try:
        held = processes.wait_for(
            lambda: "Press Ctrl-C" in log.read_text() or demo.poll() is not None, 360, interval=1
        )
        out = log.read_text()
        assert held, out[-3000:]
        said = " ".join(out.split())  # the terminal's line wrapping aside
        assert "All numbers add up." in said, out[-3000:]
        assert "chain intact: yes" in said
        assert "state 'resubmitted'; the corrected event was ACCEPTED" in said
        assert "the console shows the same: yes" in said
        assert re.search(
            r"Force 93 sent \d+ of them over HTTPS through the CloudEvents gateway", said
        )
        assert "The gateway answered 400 to one more event of force 93 with COURT_UNKNOWN" in said
        # The other direction: court results back to the forces (with triggers) and to CPS.
        courts = re.search(
            r"Court results: published (\d+) = accepted (\d+) \+ rejected 1 \+ duplicate 0 "
            r"\(adds up\); rejected for RESULT_OFFENCE_NOT_CHARGED; (\d+) delivered to the "
            r"charging forces with triggers TRPR\d+ \(\d+\).*; (\d+) to CPS, with 0 triggers",
            said,
        )
        assert courts is not None, said[-3000:]
        published, accepted, to_force, to_cps = (int(n) for n in courts.groups())
        assert published == accepted + 1
        assert to_force == to_cps == accepted > 0
        # The correction's steps are in the one audit chain, beside the disclosures.
        assert re.search(r"PROPOSE_CORRECTION by editor-\d+, .*APPROVE by reviewer-\d+", said)
        assert said.count("chain intact: yes") == 2

        # The console it prints is up, and its printed editor can sign in.
        found = re.search(
            r"Exceptions console: (\S+)/\s+sign in as (\S+) \(editor\) with password (\S+)", out
        )
        corrected = re.search(r"corrects case (\S+) ", said)
        assert found is not None, out[-2000:]
        assert corrected is not None, out[-2000:]
        url, user, password = found.groups()
        urn = corrected.group(1)
        with ConsoleClient(url) as client:
            client.sign_in(user, password)
            assert f">{urn}<" in client.get(f"/?state=resubmitted&urn={urn}")
            assert f">{urn}<" not in client.get(f"/?urn={urn}")  # no longer open

        # README's "Connect a force system" example, as the demo prints it, gets its 202.
        gateway = re.search(r"CloudEvents gateway: (\S+)/ ; force 01's token: (\S+)", out)
        ca = re.search(r"curl --cacert (\S+) ", out)
        assert gateway is not None, out[-2000:]
        assert ca is not None, out[-2000:]
        example = next(
            line
            for line in (ROOT / "docs" / "wire-format.md").read_text().splitlines()
            if '"type":"uk.gov.cjsx.CaseFileSubmitted"' in line
        )
        answer = httpx2.post(
            f"{gateway.group(1)}/forces/01/events",
            content=example.encode(),
            headers={
                "authorization": f"Bearer {gateway.group(2)}",
                "content-type": "application/cloudevents+json",
            },
            verify=ssl.create_default_context(cafile=ca.group(1)),
        )
        assert answer.status_code == 202, answer.text

        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=90) == 0
        assert "everything stopped" in log.read_text()
    finally:
        processes.stop(demo)
    leftovers = subprocess.run(
        ["pgrep", "-f", str(ROOT / ".cache" / "demo")], capture_output=True, text=True, check=False
    )
    assert leftovers.stdout == "", f"processes left behind: {leftovers.stdout}"
