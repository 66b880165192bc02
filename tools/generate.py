"""Regenerate (or check) every file that is printed from the code: ``python -m tools.generate``.

Each generator returns the files it owns with the text they must have, so writing them and
checking that the committed ones are current are the same comparison: ``--check`` exits 1
and names the stale files (the unit tests use :func:`stale`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

from tools import asyncapi_doc, dashboards, data_sharing_doc, reason_codes_doc, wire_format_doc

ROOT = Path(__file__).resolve().parents[1]

Generator = Callable[[Path], dict[Path, str]]

GENERATORS: dict[str, Generator] = {
    "asyncapi": asyncapi_doc.outputs,
    "dashboards": dashboards.outputs,
    "data-sharing": data_sharing_doc.outputs,
    "reason-codes": reason_codes_doc.outputs,
    "wire-format": wire_format_doc.outputs,
}


def files(names: Sequence[str] = (), root: Path = ROOT) -> dict[Path, str]:
    """What the named generators (all when none) would write under ``root``."""
    out: dict[Path, str] = {}
    for name in names or sorted(GENERATORS):
        out.update(GENERATORS[name](root))
    return out


def stale(names: Sequence[str] = (), root: Path = ROOT) -> list[Path]:
    """The generated files under ``root`` that differ from what the code prints now."""
    return [
        path
        for path, text in files(names, root).items()
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.generate", description="Regenerate the files printed from the code."
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(sorted(GENERATORS)))
    parser.add_argument("--check", action="store_true", help="only report stale files (exit 1)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to write into")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(GENERATORS))
    if unknown:
        parser.error(f"no generator named {', '.join(unknown)}")
    if args.check:
        old = stale(args.names, args.root)
        for path in old:
            print(f"stale: {path}")
        return 1 if old else 0
    for path, text in files(args.names, args.root).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
