"""Regenerate the shipped standing-data snapshot from the Bichard 7 npm package.

The exchange must validate and enrich messages without npm (or a network) at run time, so
we copy the few fields we use out of a pinned release of
``@moj-bichard7-developers/bichard7-next-data`` into ``streams/reference/data``. Bumping
``PINNED_VERSION`` and rerunning ``python -m tools.standing_data_snapshot`` is the whole
upgrade; the output is deterministic so the diff shows only real data changes.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from streams.reference.standing import (
    DATA_DIR,
    FORCES_FILE,
    FORMAT,
    LICENSE_FILE,
    OFFENCES_FILE,
    ORGANISATION_UNITS_FILE,
    PLEAS_FILE,
    REMAND_STATUSES_FILE,
    RESULT_CODES_FILE,
    SOURCE_FILE,
    TRIGGERS_FILE,
    VERDICTS_FILE,
)

PACKAGE = "@moj-bichard7-developers/bichard7-next-data"
PINNED_VERSION = "2.0.414"

# Paths inside the npm tarball (npm prefixes every member with "package/").
_SRC_FORCES = "package/data/forces.json"
_SRC_OUS = "package/data/organisation-unit.json"
_SRC_OFFENCES = "package/data/offence-code.json"
_SRC_RESULT_CODES = "package/data/result-code.json"
_SRC_PNC_DISPOSALS = "package/data/pnc-disposal.json"
_SRC_PLEAS = "package/data/plea-status.json"
_SRC_REMAND_STATUSES = "package/data/remand-status.json"
_SRC_VERDICTS = "package/data/verdict.json"
_SRC_TRIGGERS = "package/data/trigger-definitions.json"
_SRC_EXCLUDED_TRIGGERS = "package/data/excluded-trigger-config.json"
_SRC_PACKAGE_JSON = "package/package.json"
_LICENSE_NAMES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "LICENCE.md", "COPYING")

# Used only when the tarball ships no licence file (true up to at least 2.0.414): the
# package then declares its licence solely through package.json's SPDX id "MIT".
_MIT_TEXT = """\
Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


class SnapshotError(RuntimeError):
    """The package could not be fetched or no longer has the shape we rely on."""


def regenerate(version: str = PINNED_VERSION, dest: Path = DATA_DIR) -> None:
    """Fetch ``version`` of the package with npm and rewrite the snapshot in ``dest``."""
    npm = shutil.which("npm")
    if npm is None:
        raise SnapshotError("npm is not on PATH; it is needed only to regenerate the snapshot")
    with tempfile.TemporaryDirectory(prefix="b7-data-") as tmp_name:
        tmp = Path(tmp_name)
        packed = _npm_pack(npm, f"{PACKAGE}@{version}", tmp)
        tarball = tmp / str(packed["filename"])
        _verify_digests(tarball, packed)
        root = tmp / "extracted"
        root.mkdir()
        with tarfile.open(tarball, "r:gz") as tar:
            # The "data" filter rejects absolute paths, links out of root and device files.
            tar.extractall(root, filter="data")
        package_json = _read_json(root / _SRC_PACKAGE_JSON)
        if package_json.get("version") != version:
            raise SnapshotError(f"asked for {version}, npm gave {package_json.get('version')}")
        forces, dropped_forces = _forces(_read_json(root / _SRC_FORCES))
        units = _organisation_units(_read_json(root / _SRC_OUS))
        offences = _offences(_read_json(root / _SRC_OFFENCES))
        results = _result_codes(
            _read_json(root / _SRC_RESULT_CODES), _read_json(root / _SRC_PNC_DISPOSALS)
        )
        pleas = _coded(_read_json(root / _SRC_PLEAS), "plea-status.json")
        remands = _coded(_read_json(root / _SRC_REMAND_STATUSES), "remand-status.json")
        verdicts = _coded(_read_json(root / _SRC_VERDICTS), "verdict.json")
        triggers = _triggers(
            _read_json(root / _SRC_TRIGGERS), _read_json(root / _SRC_EXCLUDED_TRIGGERS)
        )
        licence_text, licence_origin = _licence(root, package_json)

        dest.mkdir(parents=True, exist_ok=True)
        _write_text(dest / FORCES_FILE, _dumps_rows(forces))
        _write_bytes(dest / ORGANISATION_UNITS_FILE, _gzip(_dumps_rows(units)))
        _write_bytes(dest / OFFENCES_FILE, _gzip(_dumps_rows(offences)))
        _write_text(dest / RESULT_CODES_FILE, _dumps_rows(results))
        _write_text(dest / PLEAS_FILE, _dumps_rows(pleas))
        _write_text(dest / REMAND_STATUSES_FILE, _dumps_rows(remands))
        _write_text(dest / VERDICTS_FILE, _dumps_rows(verdicts))
        _write_text(dest / TRIGGERS_FILE, json.dumps(triggers, indent=1, ensure_ascii=False) + "\n")
        _write_text(dest / LICENSE_FILE, licence_text)
        source: dict[str, Any] = {
            "format": FORMAT,
            "package": PACKAGE,
            "version": version,
            "license": package_json.get("license"),
            "license_file": licence_origin,
            "repository": _repository_url(package_json),
            "tarball": packed["filename"],
            "integrity": packed["integrity"],
            "shasum": packed["shasum"],
            "generated": dt.datetime.now(dt.UTC).date().isoformat(),
            "generator": "python -m tools.standing_data_snapshot",
            "files": {
                FORCES_FILE: {"from": _strip(_SRC_FORCES), "rows": len(forces)},
                ORGANISATION_UNITS_FILE: {"from": _strip(_SRC_OUS), "rows": len(units)},
                OFFENCES_FILE: {"from": _strip(_SRC_OFFENCES), "rows": len(offences)},
                RESULT_CODES_FILE: {
                    "from": f"{_strip(_SRC_RESULT_CODES)} + {_strip(_SRC_PNC_DISPOSALS)}",
                    "rows": len(results),
                },
                PLEAS_FILE: {"from": _strip(_SRC_PLEAS), "rows": len(pleas)},
                REMAND_STATUSES_FILE: {"from": _strip(_SRC_REMAND_STATUSES), "rows": len(remands)},
                VERDICTS_FILE: {"from": _strip(_SRC_VERDICTS), "rows": len(verdicts)},
                TRIGGERS_FILE: {
                    "from": f"{_strip(_SRC_TRIGGERS)} + {_strip(_SRC_EXCLUDED_TRIGGERS)}",
                    "rows": len(triggers["triggers"]),
                },
            },
            "dropped": {"forces": dropped_forces},
        }
        _write_text(dest / SOURCE_FILE, json.dumps(source, indent=2, ensure_ascii=False) + "\n")


def _npm_pack(npm: str, spec: str, into: Path) -> dict[str, Any]:
    # --ignore-scripts: we only want the published files, never to run package code.
    cmd = [npm, "pack", spec, "--json", "--ignore-scripts", "--pack-destination", str(into)]
    proc = subprocess.run(cmd, cwd=into, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SnapshotError(f"npm pack {spec} failed ({proc.returncode}): {proc.stderr.strip()}")
    try:
        result = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise SnapshotError(f"npm pack printed no JSON: {proc.stdout[:200]!r}") from exc
    if not isinstance(result, list) or len(result) != 1 or not isinstance(result[0], dict):
        raise SnapshotError(f"unexpected npm pack output: {proc.stdout[:200]!r}")
    packed: dict[str, Any] = result[0]
    for key in ("filename", "integrity", "shasum"):
        if not isinstance(packed.get(key), str):
            raise SnapshotError(f"npm pack output lacks {key!r}")
    return packed


def _verify_digests(tarball: Path, packed: dict[str, Any]) -> None:
    """Recompute the registry digests so SOURCE.json never records one we did not check."""
    data = tarball.read_bytes()
    algo, _, expected = str(packed["integrity"]).partition("-")
    if algo not in {"sha512", "sha384", "sha256"}:
        raise SnapshotError(f"unsupported integrity algorithm {algo!r}")
    actual = base64.b64encode(hashlib.new(algo, data).digest()).decode("ascii")
    if actual != expected:
        raise SnapshotError(f"{tarball.name}: {algo} integrity mismatch")
    if hashlib.sha1(data, usedforsecurity=False).hexdigest() != packed["shasum"]:
        raise SnapshotError(f"{tarball.name}: shasum mismatch")


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise SnapshotError(f"package has no {_strip(path.as_posix())}")
    return json.loads(path.read_text(encoding="utf-8"))


def _records(raw: Any, fields: Sequence[str], what: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise SnapshotError(f"{what}: expected a JSON array")
    for i, row in enumerate(raw):
        if not isinstance(row, dict) or any(f not in row for f in fields):
            raise SnapshotError(f"{what}[{i}] lacks one of {list(fields)}: {row!r}")
    return raw


def _forces(raw: Any) -> tuple[list[list[str]], list[dict[str, str]]]:
    kept: list[list[str]] = []
    dropped: list[dict[str, str]] = []
    seen: set[str] = set()
    for row in _records(raw, ("code", "name"), "forces.json"):
        code, name = str(row["code"]), str(row["name"]).strip()
        # PNC force codes are two digits; the package also carries odd rows (e.g. "B01DU").
        if len(code) != 2 or not code.isdigit():
            dropped.append({"code": code, "name": name, "why": "not a two-digit force code"})
            continue
        if code in seen:
            raise SnapshotError(f"forces.json: duplicate code {code}")
        seen.add(code)
        kept.append([code, name])
    return kept, dropped


_OU_FIELDS = (
    "topLevelCode",
    "secondLevelCode",
    "thirdLevelCode",
    "bottomLevelCode",
    "topLevelName",
    "secondLevelName",
    "thirdLevelName",
    "bottomLevelName",
)


def _organisation_units(raw: Any) -> list[list[str]]:
    """Rows ``[code, name]`` in source order: the exchange's fallback takes the first match."""
    rows: list[list[str]] = []
    seen: set[str] = set()
    for row in _records(raw, _OU_FIELDS, "organisation-unit.json"):
        top, second, third, bottom = (
            str(row[k]).strip().upper()
            for k in ("topLevelCode", "secondLevelCode", "thirdLevelCode", "bottomLevelCode")
        )
        if len(top) > 1 or not all(len(level) == 2 for level in (second, third, bottom)):
            raise SnapshotError(f"organisation-unit.json: malformed levels {row!r}")
        code = top + second + third + bottom
        if code in seen:
            raise SnapshotError(f"organisation-unit.json: duplicate code {code}")
        seen.add(code)
        # Most specific non-empty name: area placeholder rows have no third-level name.
        name = next(
            (
                str(row[k]).strip()
                for k in ("bottomLevelName", "thirdLevelName", "secondLevelName", "topLevelName")
                if str(row[k]).strip()
            ),
            "",
        )
        rows.append([code, name])
    return rows


def _offences(raw: Any) -> list[list[Any]]:
    rows: list[list[Any]] = []
    seen: set[str] = set()
    fields = ("cjsCode", "offenceTitle", "offenceCategory", "recordableOnPnc")
    for row in _records(raw, fields, "offence-code.json"):
        code = str(row["cjsCode"]).strip()
        if not code or code in seen:
            raise SnapshotError(f"offence-code.json: empty or duplicate code {code!r}")
        if not isinstance(row["recordableOnPnc"], bool):
            raise SnapshotError(f"offence-code.json: {code} recordableOnPnc is not a boolean")
        seen.add(code)
        title = str(row["offenceTitle"]).strip()
        rows.append([code, title, str(row["offenceCategory"]).strip(), row["recordableOnPnc"]])
    return rows


def _result_codes(raw: Any, disposals_raw: Any) -> list[list[Any]]:
    """Rows ``[code, title, type, qualifiers, recordable, pnc_disposal]``.

    ``recordable`` is ``recordableOnPnc`` when the package fills it (None when blank, as it
    is for every row up to at least 2.0.414); ``pnc_disposal`` is the PNC disposal code the
    result is recorded as on an adjudicated offence (``pnc-disposal.json``; by default the
    result code itself).
    """
    disposals: dict[int, int] = {}
    for row in _records(disposals_raw, ("cjsCode", "pncAdjudication"), "pnc-disposal.json"):
        disposals[int(row["cjsCode"])] = int(row["pncAdjudication"])
    rows: list[list[Any]] = []
    seen: set[int] = set()
    fields = ("cjsCode", "description", "recordableOnPnc", "resultCodeQualifiers", "type")
    for row in _records(raw, fields, "result-code.json"):
        text = str(row["cjsCode"]).strip()
        if not text.isdigit() or int(text) in seen:
            raise SnapshotError(f"result-code.json: bad or duplicate code {text!r}")
        code = int(text)
        seen.add(code)
        qualifiers = sorted(
            {q.strip() for q in str(row["resultCodeQualifiers"]).split(",") if q.strip()}
        )
        flag = row["recordableOnPnc"]
        recordable = flag if isinstance(flag, bool) else {"Y": True, "N": False}.get(str(flag))
        rows.append(
            [
                code,
                str(row["description"]).strip(),
                str(row["type"]).strip(),
                qualifiers,
                recordable,
                disposals.get(code, code),
            ]
        )
    return rows


def _coded(raw: Any, what: str) -> list[list[str]]:
    """Rows ``[cjs code, description]`` of a closed list; rows without a CJS code (the
    package lists SPI-only values such as a caution verdict) are not sendable, so dropped.
    A code listed twice (plea ``G`` has two SPI codes) is kept once."""
    rows: list[list[str]] = []
    seen: set[str] = set()
    for row in _records(raw, ("cjsCode", "description"), what):
        code = str(row["cjsCode"]).strip()
        if not code or code in seen:
            continue
        seen.add(code)
        rows.append([code, str(row["description"]).strip()])
    return rows


_LIST_ITEM = re.compile(r"<li>\s*(\d{4})\b([^<]*)")
_LEADING_CODE = re.compile(r"^\s*(\d{4})\b")
_NOT_QUALIFIER = re.compile(r"Result Qualifier is not '([A-Z0-9]+)'")
_QUALIFIER_ONLY = re.compile(r"^Result Qualifier ([A-Z0-9]{1,2})\b")


def _triggers(raw: Any, excluded_raw: Any) -> dict[str, Any]:
    """Each trigger's code and descriptions, and the rule the exchange can evaluate from a
    result alone, read from the definitions' ``cjsResultCode`` text:

    - ``result_codes``: the result codes listed (an HTML list, or a text that starts with
      one code); an item marked ``*`` applies only without the qualifier the note names
      (``unless_qualifiers``, e.g. TRPR0002's warrant "not 'EO'");
    - ``qualifiers``: a trigger raised by a result qualifier alone (TRPR0023, TRPR0024).

    Triggers whose rule depends on more than one result (bail conditions on the case, the
    offence code, PNC's own data, counts of adjournments) keep empty rules: the exchange
    does not raise them. ``excluded`` lists, per force, the triggers the force does not take.
    """
    triggers: list[dict[str, Any]] = []
    fields = ("code", "description", "shortDescription")
    for row in _records(raw, fields, "trigger-definitions.json"):
        text = str(row.get("cjsResultCode", ""))
        items = _LIST_ITEM.findall(text)
        if not items:
            leading = _LEADING_CODE.match(text)
            items = [(leading.group(1), "")] if leading else []
        unless = _NOT_QUALIFIER.findall(text)
        codes = [int(code) for code, rest in items]
        conditional = [int(code) for code, rest in items if "*" in rest]
        if conditional and conditional != codes:
            raise SnapshotError(f"trigger {row['code']}: a qualifier note on some items only")
        plain = re.sub(r"<[^>]+>", " ", text).strip()
        qualifier = _QUALIFIER_ONLY.match(plain) if not codes else None
        triggers.append(
            {
                "code": str(row["code"]).strip(),
                "description": str(row["description"]).strip(),
                "short": str(row["shortDescription"]).strip(),
                "pnc_screen": str(row.get("pncScreenToUpdate", "")).strip(),
                "result_codes": codes,
                "unless_qualifiers": unless if conditional else [],
                "qualifiers": [qualifier.group(1)] if qualifier else [],
            }
        )
    if not isinstance(excluded_raw, dict):
        raise SnapshotError("excluded-trigger-config.json: expected a JSON object")
    excluded = {str(force): sorted(map(str, codes)) for force, codes in excluded_raw.items()}
    return {"triggers": triggers, "excluded": dict(sorted(excluded.items()))}


def _licence(root: Path, package_json: dict[str, Any]) -> tuple[str, str]:
    """Return the licence notice to ship and where it came from."""
    for name in _LICENSE_NAMES:
        path = root / "package" / name
        if path.is_file():
            return path.read_text(encoding="utf-8"), f"{name} from the package tarball"
    declared = package_json.get("license")
    if declared != "MIT":
        raise SnapshotError(f"package declares licence {declared!r}, not MIT: review before use")
    author = package_json.get("author") or ""
    header = (
        f"{PACKAGE}@{package_json.get('version')} ships no LICENSE file.\n"
        "Its package.json declares the licence only as an SPDX identifier:\n\n"
        f'    "license": {json.dumps(declared)}\n'
        f'    "author": {json.dumps(author)}\n'
        f'    "repository": {json.dumps(_repository_url(package_json))}\n\n'
        "The package names no copyright holder. The standard MIT licence terms, which\n"
        "that identifier refers to, follow.\n\n"
        "MIT License\n\n"
    )
    return header + _MIT_TEXT, "none in tarball; package.json declares SPDX MIT"


def _repository_url(package_json: dict[str, Any]) -> str | None:
    repo = package_json.get("repository")
    if isinstance(repo, dict):
        url = repo.get("url")
        return str(url) if url is not None else None
    return str(repo) if repo is not None else None


def _strip(member: str) -> str:
    _, sep, rest = member.partition("package/")
    return rest if sep else member


def _dumps_rows(rows: Sequence[Sequence[Any]]) -> str:
    # One row a line: compact, yet a decompressed diff between versions stays readable.
    body = ",\n".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in rows)
    return f"[\n{body}\n]\n"


def _gzip(text: str) -> bytes:
    buf = io.BytesIO()
    # mtime=0 and no filename make the bytes a pure function of the content.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(text.encode("utf-8"))
    return buf.getvalue()


def _write_text(path: Path, text: str) -> None:
    _write_bytes(path, text.encode("utf-8"))


def _write_bytes(path: Path, data: bytes) -> None:
    # Write then rename, so a failed run never leaves a half-written snapshot file.
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.standing_data_snapshot",
        description=f"Regenerate the standing-data snapshot from {PACKAGE}.",
    )
    parser.add_argument("--version", default=PINNED_VERSION, help="package version to fetch")
    parser.add_argument("--dest", type=Path, default=DATA_DIR, help="snapshot directory")
    args = parser.parse_args(argv)
    try:
        regenerate(version=args.version, dest=args.dest)
    except SnapshotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {PACKAGE}@{args.version} snapshot to {args.dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
