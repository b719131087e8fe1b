"""Atomic writes never leave partial files; the CLI answers --version/--help and prints one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

import tk
from tk import atomic
from tk.cli import app, main
from tk.errors import TkError


def test_atomic_write_failure_keeps_old_content(tmp_path):
    p = tmp_path / "f.txt"
    atomic.write_text(p, "old")
    with pytest.raises(RuntimeError):
        with atomic.atomic_open(p, "w") as fh:
            fh.write("half")
            raise RuntimeError("killed")
    assert p.read_text() == "old"
    assert list(tmp_path.iterdir()) == [p]


def test_atomic_files_get_the_umask_mode(tmp_path):
    atomic.write_bytes(tmp_path / "f.bin", b"x")
    assert (tmp_path / "f.bin").stat().st_mode & 0o777 == 0o666 & ~atomic._UMASK


def test_stale_temps_are_removed(tmp_path):
    (tmp_path / ".x.parquet.abc.tmp").write_bytes(b"partial")
    (tmp_path / "x.parquet").write_bytes(b"done")
    assert atomic.remove_stale_temps(tmp_path) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["x.parquet"]


def test_version_flag(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"tk {tk.__version__}"


def test_every_command_has_help_with_an_example():
    import typer.main
    from typer.testing import CliRunner

    runner = CliRunner()
    group = typer.main.get_command(app)

    def check(cmd, path: list[str]) -> None:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage" in result.output
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                check(sub, [*path, name])
        else:
            assert "tk " + " ".join(path) in (cmd.help or ""), f"tk {' '.join(path)}: help has no example"

    for name, cmd in group.commands.items():
        check(cmd, [name])


def test_help_is_fast_to_import():
    # `tk --help` must not import the heavy stages (docs/design.md: heavy imports inside the stage).
    code = "import sys, tk.cli; print(sorted(m for m in ('torch', 'bpy', 'ray', 'duckdb') if m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_tk_error_is_one_line(capsys, monkeypatch):
    import typer

    probe = typer.Typer()

    @probe.callback()
    def _root() -> None:
        pass

    @probe.command()
    def boom() -> None:
        raise TkError("manifest not found: /nope; run tk curate first")

    monkeypatch.setattr("tk.cli.app", probe)
    assert main(["boom"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: manifest not found: /nope; run tk curate first"]


def test_unknown_option_is_a_usage_error():
    r = subprocess.run([sys.executable, "-m", "tk", "--no-such-flag"], capture_output=True, text=True)
    assert r.returncode == 2
    assert "No such option" in r.stderr
    assert "Traceback" not in r.stderr
