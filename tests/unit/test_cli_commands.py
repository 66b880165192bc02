"""Every ``cjsx`` subcommand named in the lazy table exists under that name."""

from __future__ import annotations

from click.testing import CliRunner

from cjsx.cli import COMMANDS, cli


def test_every_subcommand_loads_under_its_own_name() -> None:
    runner = CliRunner()
    for name in COMMANDS:
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
    listed = runner.invoke(cli, ["--help"]).output
    assert all(f"  {name} " in listed for name in COMMANDS)
