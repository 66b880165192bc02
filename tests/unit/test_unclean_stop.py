"""After an unclean stop the worker's tables are rebuilt from their changelogs (ADR 0002)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cjsx.cli.worker import tables_trusted_after_clean_stops


def _folders(tmp_path: Path) -> tuple[Path, Path]:
    tables = tmp_path / "v1" / "tables"
    (tables / "cases-0.db").mkdir(parents=True)
    return tmp_path, tables


def _worker_ending(datadir: Path, tables: Path, ending: BaseException) -> None:
    """A worker's run that ends with ``ending`` (mode's worker ends with SystemExit)."""
    with tables_trusted_after_clean_stops(datadir, tables):
        assert (datadir / "running").exists()
        raise ending


def test_a_clean_stop_keeps_the_tables_for_the_next_worker(tmp_path: Path) -> None:
    datadir, tables = _folders(tmp_path)
    with pytest.raises(SystemExit):
        _worker_ending(datadir, tables, SystemExit(0))
    assert not (datadir / "running").exists()
    with tables_trusted_after_clean_stops(datadir, tables):
        assert (tables / "cases-0.db").exists()


@pytest.mark.parametrize("ending", [SystemExit(75), RuntimeError("the worker failed")])
def test_after_a_failed_stop_the_next_worker_starts_without_local_tables(
    tmp_path: Path, ending: BaseException
) -> None:
    datadir, tables = _folders(tmp_path)
    with pytest.raises(type(ending)):
        _worker_ending(datadir, tables, ending)
    assert (datadir / "running").exists()
    with tables_trusted_after_clean_stops(datadir, tables):
        assert not tables.exists()


def test_a_killed_worker_leaves_its_mark_and_the_next_one_rebuilds(tmp_path: Path) -> None:
    datadir, tables = _folders(tmp_path)
    (datadir / "running").touch()  # what a SIGKILLed worker leaves: nothing ran its exit
    with tables_trusted_after_clean_stops(datadir, tables):
        assert not tables.exists()
        assert (datadir / "running").exists()
    assert not (datadir / "running").exists()
