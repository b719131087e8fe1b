"""CurateConfig is defined once: `tk curate`'s options, release specs and Python callers build the same typed
config, and it checks itself when built."""

from __future__ import annotations

from pathlib import Path

import pytest

from tk.curate.config import CurateConfig
from tk.errors import TkError
from tk.sections import build, cli_fields, option_name

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "manifests" / "sample" / "objects"


def _curate_options() -> list[str]:
    from tests.foundation.cli_surface import surface

    return surface()["tk curate"]


def test_each_curate_option_is_one_config_field():
    by_option = {option_name(f): f.name for f in cli_fields(CurateConfig)}
    assert sorted(set(_curate_options()) - {"--no-animated"}) == sorted(by_option)
    assert by_option["--address"] == "ray_address" and by_option["--no-download"] == "no_download"
    # the two settings that are no option are still spec keys and Python arguments
    assert {f.name for f in CurateConfig.__dataclass_fields__.values()} - set(by_option.values()) == {
        "flat_ratio", "duckdb_table_max_rows"}


def _captured(monkeypatch, args: list[str]) -> CurateConfig:
    import tk.curate.pipeline as pipeline
    import tk.curate.report as report
    from tk.cli import main

    seen = []
    monkeypatch.setattr(pipeline, "run", lambda cfg: seen.append(cfg) or {"kept": 0, "rows": 0})
    monkeypatch.setattr(report, "print_table", lambda summary: None)
    assert main(["curate", *args]) == 0
    return seen[0]


def test_cli_defaults_are_the_config_defaults(tmp_path, monkeypatch):
    cfg = _captured(monkeypatch, ["--source", "local", "--input", str(SAMPLE), "--out", str(tmp_path / "o")])
    assert cfg == CurateConfig(source="local", input=SAMPLE, out=tmp_path / "o")
    assert (cfg.split, cfg.fractions, cfg.xl_sources, cfg.max_faces, cfg.animated) == (
        (0.98, 0.01, 0.01), (0.98, 0.01, 0.01), None, 1_000_000, False)


def test_cli_text_becomes_typed_values(tmp_path, monkeypatch):
    cfg = _captured(monkeypatch, [
        "--source", "objaverse-xl", "--xl-dir", str(tmp_path), "--xl-sources", "Sketchfab, smithsonian", "--dry-run",
        "--split", "0.8,0,0.2", "--address", "auto", "--no-download", "--animated", "--require-textures",
        "--max-size-mb", "5", "--min-faces", "10"])
    assert cfg.split == (0.8, 0.0, 0.2) and all(isinstance(x, float) for x in cfg.split)
    assert cfg.xl_sources == ("sketchfab", "smithsonian")
    assert (cfg.ray_address, cfg.no_download, cfg.animated, cfg.require_textures, cfg.dry_run) == (
        "auto", True, True, True, True)
    assert (cfg.max_size_mb, cfg.min_faces, cfg.xl_dir, cfg.out) == (5.0, 10, tmp_path, None)


def test_yaml_values_build_the_same_config(tmp_path):
    base = {"source": "objaverse-xl", "xl_dir": str(tmp_path), "out": str(tmp_path / "o")}
    listed = build(CurateConfig, {**base, "split": [0.8, 0.1, 0.1], "xl_sources": ["github"], "max_size_mb": 10,
                                  "flat_ratio": 0}, "spec: curation")
    written = build(CurateConfig, {**base, "split": "0.8,0.1,0.1", "xl_sources": "github", "max_size_mb": "10",
                                   "flat_ratio": 0.0}, "spec: curation")
    assert listed == written == CurateConfig(source="objaverse-xl", xl_dir=tmp_path, out=tmp_path / "o",
                                             split=(0.8, 0.1, 0.1), xl_sources=("github",), max_size_mb=10.0,
                                             flat_ratio=0.0)
    assert isinstance(listed.max_size_mb, float) and isinstance(listed.flat_ratio, float)


@pytest.mark.parametrize(("values", "message"), [
    ({"split": [0.5, 0.5]}, "spec: curation: split [0.5, 0.5]: expected 3 values"),
    ({"split": "0.9,0.2,0.1"}, "--split '0.9,0.2,0.1': expected three non-negative fractions"),
    ({"split": ["a", 0, 0]}, "spec: curation: split ['a', 0, 0]: expected 3 values"),
    ({"xl_sources": ["github", "nope"]}, "--xl-sources: unknown source(s) ['nope']"),
    ({"workers": 0}, "--workers must be at least 1"),
    ({"workers": "many"}, "spec: curation: workers 'many': expected a whole number"),
    ({"animated": "yes"}, "spec: curation: animated 'yes': expected true or false"),
    ({"min_faces": -1}, "--min-faces must not be negative"),
    ({"license": "nope"}, "--license: unknown license id(s) ['nope']"),
    ({"min_score": 0.5}, "--scores FILE and --min-score X go together"),
    ({"source": "sketchfab"}, "--source 'sketchfab': choose one of"),
    ({"where": "1; DROP TABLE x"}, "--where"),
    ({"split_ratio": 1}, "spec: curation: unknown key(s) ['split_ratio']"),
])
def test_bad_values_are_one_line_errors(tmp_path, values, message):
    with pytest.raises(TkError) as e:
        build(CurateConfig, {"source": "objaverse-xl", "xl_dir": str(tmp_path), "out": str(tmp_path), **values},
              "spec: curation")
    assert str(e.value).startswith(message) and "\n" not in str(e.value), str(e.value)


def test_the_config_checks_itself_when_built(tmp_path):
    with pytest.raises(TkError, match="--source local needs --input"):
        CurateConfig(source="local", out=tmp_path)
    with pytest.raises(TkError, match="--out DIR is required"):
        CurateConfig(source="local", input=SAMPLE)
    # Python callers pass typed values: text is refused with one line instead of being re-parsed later
    with pytest.raises(TkError, match="expected three numbers"):
        CurateConfig(source="local", input=SAMPLE, dry_run=True, split="0.8,0.1,0.1")  # type: ignore[arg-type]
    with pytest.raises(TkError, match="expected a tuple of names"):
        CurateConfig(source="local", input=SAMPLE, dry_run=True, xl_sources="github")  # type: ignore[arg-type]
    cfg = CurateConfig(source="local", input=SAMPLE, dry_run=True, split=(1, 0, 0), xl_sources=())
    assert cfg.split == (1.0, 0.0, 0.0) and cfg.xl_sources is None  # () means all sources, as the CLI's empty text


def test_docs_options_table_names_every_option():
    table = (REPO / "docs" / "curate.md").read_text().split("## Options", 1)[1].split("\n## ", 1)[0]
    missing = [option_name(f) for f in cli_fields(CurateConfig) if f"`{option_name(f)}" not in table]
    assert not missing, f"docs/curate.md's options table lacks {missing}"
