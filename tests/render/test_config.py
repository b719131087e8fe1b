"""RenderConfig is defined once: the CLI, release specs and Python callers build the same typed config."""

from __future__ import annotations

from pathlib import Path

import pytest

import tk.render.lighting as lighting
from tk.render.config import RenderConfig
from tk.render.inputs import from_folder
from tk.render.jobs import make_job

SAMPLE = Path(__file__).resolve().parents[2] / "manifests" / "sample" / "objects"


def test_make_job_does_not_scan_the_hdri_folder(tmp_path, monkeypatch):
    hdris = tmp_path / "hdris"
    (hdris / "sub").mkdir(parents=True)
    for name in ("a.hdr", "sub/b.exr"):
        (hdris / name).write_bytes(b"not read")
    scans = []
    real = lighting.find_hdris
    monkeypatch.setattr(lighting, "find_hdris", lambda folder: scans.append(folder) or real(folder))
    cfg = RenderConfig(out=str(tmp_path / "o"), input_dir=str(SAMPLE), views=4, hdri_dir=str(hdris), lighting="hdri")
    assert scans == []  # a config reads nothing on disk
    paths = cfg.hdri_paths()  # what `run` does, once
    assert len(scans) == 1
    objects = from_folder(str(SAMPLE), 0)[:5]
    jobs = [make_job(o, cfg, paths) for o in objects]
    assert len(scans) == 1, f"{len(scans) - 1} more scans of --hdri-dir for {len(objects)} jobs"
    assert {f for j in jobs for f in j["hdri_paths"]} <= {"a.hdr", "sub/b.exr"}
    assert all(v["light"]["env"]["file"] in ("a.hdr", "sub/b.exr") for j in jobs for v in j["views"])
    assert cfg.settings(paths)["hdris"] == ["a.hdr", "sub/b.exr"] and len(scans) == 1


def _render_options() -> list[str]:
    from tests.foundation.cli_surface import surface

    return surface()["tk render"]


def test_each_render_option_is_one_config_field():
    from tk.sections import cli_fields, option_name

    by_option = {option_name(f): f.name for f in cli_fields(RenderConfig)}
    assert sorted(by_option.values()) == sorted(RenderConfig.field_names())  # every field is an option
    negations = {o for o in _render_options() if o.startswith("--no-") and o[5:] in
                 {n.replace("_", "-") for n, t in RenderConfig.__annotations__.items() if t == "bool"}}
    assert sorted(set(_render_options()) - negations) == sorted(by_option)  # and every option is one field


def _captured(monkeypatch, args: list[str]) -> RenderConfig:
    import tk.render.pipeline as pipeline
    from tk.cli import main

    seen = []
    monkeypatch.setattr(pipeline, "run", lambda cfg: seen.append(cfg) or {
        "ok_total": 0, "ok": 0, "skipped": 0, "failed_total": 0, "views_per_object": cfg.views, "seconds": 0.0,
        "node_loss_retries": 0, "actor_loss_retries": 0})
    assert main(["render", *args]) == 0
    return seen[0]


def test_cli_defaults_are_the_config_defaults(tmp_path, monkeypatch):
    cfg = _captured(monkeypatch, ["--input", str(SAMPLE), "--out", str(tmp_path / "o")])
    assert cfg == RenderConfig(out=str(tmp_path / "o"), input_dir=str(SAMPLE))
    assert (cfg.fovy_deg, cfg.distance, cfg.elevation_deg, cfg.workers) == ((40.0, 40.0), (2.66, 3.06), (-10.0, 45.0), 1)


def test_cli_text_becomes_typed_values(tmp_path, monkeypatch):
    cfg = _captured(monkeypatch, ["--input", str(SAMPLE), "--out", str(tmp_path / "o"), "--fovy", "30", "--distance",
                                  "2,3.5", "--elevation", "-5,20", "--workers", "auto", "--no-depth", "--limit", "2"])
    assert (cfg.fovy_deg, cfg.distance, cfg.elevation_deg) == ((30.0, 30.0), (2.0, 3.5), (-5.0, 20.0))
    assert (cfg.workers, cfg.depth, cfg.limit) == ("auto", False, 2)
    cfg = _captured(monkeypatch, ["--input", str(SAMPLE), "--out", str(tmp_path / "o"), "--workers", "3"])
    assert cfg.workers == 3


def test_yaml_values_build_the_same_config(tmp_path):
    from tk.sections import build

    base = {"out": str(tmp_path / "o"), "input_dir": str(SAMPLE)}
    cfg = build(RenderConfig, {**base, "fovy_deg": 35, "distance": [2, 3], "elevation_deg": "-5,20", "timeout": 10},
                "spec: render")
    assert cfg == RenderConfig(**base, fovy_deg=(35.0, 35.0), distance=(2.0, 3.0), elevation_deg=(-5.0, 20.0),
                               timeout=10.0)
    assert isinstance(cfg.timeout, float) and all(isinstance(x, float) for x in cfg.distance)


@pytest.mark.parametrize(("values", "message"), [
    ({"distance": [2, 3, 4]}, "spec: render: distance [2, 3, 4]: expected MIN,MAX (or one number)"),
    ({"distance": [3, 2]}, "spec: render: distance [3, 2]: expected MIN,MAX with MIN <= MAX"),
    ({"fovy_deg": "wide"}, "spec: render: fovy_deg 'wide': expected MIN,MAX"),
    ({"views": 2.5}, "spec: render: views 2.5: expected a whole number"),
    ({"views": "many"}, "spec: render: views 'many': expected a whole number"),
    ({"depth": "yes"}, "spec: render: depth 'yes': expected true or false"),
    ({"engine": 3}, "spec: render: engine 3: expected text"),
    ({"view": 3}, "spec: render: unknown key(s) ['view']"),
])
def test_bad_values_are_one_line_errors(tmp_path, values, message):
    from tk.errors import TkError
    from tk.sections import build

    with pytest.raises(TkError) as e:
        build(RenderConfig, {"out": str(tmp_path), "input_dir": str(SAMPLE), **values}, "spec: render")
    assert str(e.value).startswith(message) and "\n" not in str(e.value), str(e.value)


def test_render_json_settings_keep_their_keys_and_values(tmp_path):
    """render.json of existing folders must still match (resume): same keys, ranges as lists."""
    cfg = RenderConfig(out=str(tmp_path), input_dir=str(SAMPLE), lighting="studio")
    s = cfg.settings(cfg.hdri_paths())
    assert sorted(s) == sorted([
        "views", "resolution", "engine", "samples", "denoise", "device", "lighting", "lighting_per", "hdri_dir",
        "seed", "split_seed", "fovy_deg", "distance", "elevation_deg", "orbit", "depth", "normals", "hdris"])
    assert (s["fovy_deg"], s["distance"], s["elevation_deg"]) == ([40.0, 40.0], [2.66, 3.06], [-10.0, 45.0])
    assert s["hdris"] and all(h.startswith("bundled/") for h in s["hdris"])


def test_docs_options_table_names_every_option():
    table = (Path(__file__).resolve().parents[2] / "docs" / "render.md").read_text().split("## Options", 1)[1]
    from tk.sections import cli_fields, option_name

    names = [option_name(f) for f in cli_fields(RenderConfig) if f.name != "manifest"]
    missing = [o for o in names if f"`{o}" not in table and f"`--no-{o[2:]}" not in table]  # a flag or its --no-
    assert not missing, f"docs/render.md's options table lacks {missing}"


def test_a_config_reads_no_disk_and_run_checks_it_before_touching_out(tmp_path):
    from tk.errors import TkError
    from tk.render.pipeline import run

    missing = RenderConfig(out=str(tmp_path / "o"), input_dir=str(tmp_path / "nowhere"))  # builds: nothing read
    with pytest.raises(TkError, match="nowhere: not a folder"):
        run(missing)
    no_maps = RenderConfig(out=str(tmp_path / "o"), input_dir=str(SAMPLE), hdri_dir=str(tmp_path / "no-maps"),
                           lighting="hdri")
    with pytest.raises(TkError, match="--hdri-dir .*no-maps: not a folder"):
        run(no_maps)
    assert not (tmp_path / "o").exists()
