"""Release specs: the shipped specs load; each kind of bad spec fails with one line naming the key or path."""

from __future__ import annotations

from pathlib import Path

import pytest

from tk.cli import main
from tk.release.spec import SpecError, load_spec, parse_spec

REPO = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "spec.yaml"
    p.write_text(text)
    return p


def test_shipped_specs_resolve_their_sources():
    for name in ("sample-release.yaml", "tiny-release.yaml"):
        spec = load_spec(REPO / "manifests" / name)
        assert spec.sources[0].input == (REPO / "manifests" / "sample" / "objects").resolve()
        assert spec.sources[0].licenses == (REPO / "manifests" / "sample" / "SOURCES.csv").resolve()
        assert spec.render["views"] >= 1


def test_source_root_moves_relative_paths(tmp_path, sample_dir):
    raw = {"name": "x", "version": "1", "sources": [{"source": "local", "input": "objects"}]}
    spec = parse_spec(raw, sample_dir)
    assert spec.sources[0].input == (sample_dir / "objects").resolve()
    with pytest.raises(SpecError, match="input 'objects' not found"):
        parse_spec(raw, tmp_path)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("name: x\nversion: 1\nsources: [{source: local, input: .}]\ncolour: red\n", "unknown key(s) ['colour']"),
        ("name: x\nversion: 1\nsources: [{source: local, input: nowhere}]\n", "input 'nowhere' not found"),
        ("name: x\nversion: 1\nsources: [{source: sketchfab, input: .}]\n", "source 'sketchfab' is not one of"),
        ("name: x\nversion: 1\nsources: [{source: local}]\n", "a local source needs 'input'"),
        ("name: x\nversion: 1\nsources: []\n", "'sources' must be a non-empty list"),
        ("version: 1\nsources: [{source: local, input: .}]\n", "missing required key 'name'"),
        ("name: 'a b'\nversion: 1\nsources: [{source: local, input: .}]\n", "name 'a b' must be"),
        ("name: x\nversion: 1\ntk_version: '>=99'\nsources: [{source: local, input: .}]\n", "needs tk >=99"),
        ("name: x\nversion: 1\nsources: [{source: local, input: .}]\nrender: {hdri_dir: nohdri}\n", "hdri_dir 'nohdri' not found"),
        ("name: x\n  version: [\n", "not valid YAML at line"),
        ("- just\n- a list\n", "a release spec is a YAML mapping"),
    ],
)
def test_bad_spec_is_one_line(tmp_path, capsys, text, expected):
    spec = _write(tmp_path, text)
    assert main(["release", "build", str(spec), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0], err
    assert not (tmp_path / "out").exists()


def test_unknown_render_option_is_one_line(tmp_path, capsys):
    spec = _write(tmp_path, "name: x\nversion: 1\nsources: [{source: local, input: .}]\nrender: {viewz: 3}\n")
    assert main(["release", "build", str(spec), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "render: unknown option 'viewz'" in err[0], err


def test_bad_render_value_is_one_line(tmp_path, capsys):
    spec = _write(tmp_path, "name: x\nversion: 1\nsources: [{source: local, input: .}]\nrender: {engine: povray}\n")
    assert main(["release", "build", str(spec), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--engine 'povray'" in err[0], err


def test_release_reserved_option_is_refused(tmp_path, capsys):
    spec = _write(tmp_path, "name: x\nversion: 1\nsources: [{source: local, input: .}]\nrender: {out: /tmp/x}\n")
    assert main(["release", "build", str(spec), "--out", str(tmp_path / "out")]) == 2
    assert "'out' is set by the release itself" in capsys.readouterr().err


@pytest.mark.parametrize(
    "curation, expected",
    [
        ("{min_facez: 3}", "curation: unknown option 'min_facez'"),
        ("{license: nope}", "unknown license id(s) ['nope']"),
        ("{workers: 4}", "'workers' is set by the release itself"),
        ("{split: [0.9, 0.2, 0.1]}", "--split '0.9,0.2,0.1': expected three non-negative fractions"),
        ("{split: [0.5, 0.5]}", "spec: curation: split [0.5, 0.5]: expected 3 values"),
        ("{max_faces: lots}", "spec: curation: max_faces 'lots': expected a whole number"),
    ],
)
def test_bad_curation_is_one_line(tmp_path, capsys, curation, expected):
    spec = _write(tmp_path, f"name: x\nversion: 1\nsources: [{{source: local, input: .}}]\ncuration: {curation}\n")
    assert main(["release", "build", str(spec), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0], err
    assert not (tmp_path / "out").exists()


def test_curation_values_take_the_config_types(sample_dir):
    from tk.release.stages import curate_config

    raw = {"name": "x", "version": "1", "sources": [{"source": "local", "input": "objects"}],
           "curation": {"split": [0.8, 0.1, 0.1], "scores": "SOURCES.csv", "min_score": 0.5}}
    spec = parse_spec(raw, sample_dir)
    cfg = curate_config(spec, spec.sources[0], sample_dir / "unused-out")
    assert cfg.split == cfg.fractions == (0.8, 0.1, 0.1)
    assert cfg.scores == (sample_dir / "SOURCES.csv").resolve()


@pytest.mark.parametrize("written", ["[0.8, 0.1, 0.1]", "'0.8,0.1,0.1'"])
def test_curation_lists_and_text_build_the_same_tuples(sample_dir, tmp_path, written):
    """The curation section is built like `tk curate`'s options: a YAML list is not joined back into text."""
    from tk.release.stages import curate_config

    text = (f"name: x\nversion: 1\nsources: [{{source: local, input: .}}]\n"
            f"curation: {{split: {written}, xl_sources: [GitHub], max_size_mb: 5, objaverse_dir: cache}}\n")
    spec = load_spec(_write(tmp_path, text), source_root=sample_dir)
    cfg = curate_config(spec, spec.sources[0], tmp_path / "out", workers=3)
    assert (cfg.split, cfg.xl_sources, cfg.max_size_mb, cfg.workers) == ((0.8, 0.1, 0.1), ("github",), 5.0, 3)
    assert (cfg.source, cfg.input, cfg.out) == ("local", sample_dir.resolve(), tmp_path / "out")
    assert cfg.objaverse_dir == (sample_dir / "cache").resolve()  # relative paths resolve against the spec's base


@pytest.mark.parametrize("written", ["[2.5, 3]", "'2.5,3'"])
def test_render_values_take_the_config_types(sample_dir, tmp_path, written):
    """A spec's render section is built by the same builder as `tk render`'s options: lists become tuples."""
    from tk.release.stages import render_config

    text = f"name: x\nversion: 1\nsources: [{{source: local, input: .}}]\nrender: {{distance: {written}, fovy_deg: 35, timeout: 60}}\n"
    spec = load_spec(_write(tmp_path, text), source_root=sample_dir)
    cfg = render_config(spec, sample_dir, tmp_path / "out")
    assert (cfg.distance, cfg.fovy_deg, cfg.timeout) == ((2.5, 3.0), (35.0, 35.0), 60.0)
    assert spec.raw["render"]["fovy_deg"] == 35  # the record keeps the spec as written


def test_bad_render_range_is_one_line(tmp_path, capsys):
    spec = _write(tmp_path, "name: x\nversion: 1\nsources: [{source: local, input: .}]\nrender: {distance: [3, 2, 1]}\n")
    assert main(["release", "build", str(spec), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "spec: render: distance [3, 2, 1]: expected MIN,MAX" in err[0], err


def test_reserved_render_options_are_config_fields():
    from tk.release.spec import RENDER_RESERVED, RENDER_PATHS
    from tk.render.config import RenderConfig

    assert set(RENDER_RESERVED) | set(RENDER_PATHS) <= set(RenderConfig.field_names())
