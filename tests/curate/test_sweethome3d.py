"""`tk fetch sweethome3d`: the Debian furniture package unpacked into a folder + mapping that `tk curate` takes,
with each model's license, creator, name and category; bad packages give one line. No network: a tiny
package of the real layout (sh3d_fixture) stands in for the 120 MB one."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tk import contracts
from tk.cli import main
from tk.curate.pipeline import CurateConfig, run as curate
from tk.curate.sources import local, sweethome3d
from tk.errors import TkError
from tk.hashing import sha256_file

from sh3d_fixture import COPYRIGHT, catalog, deb, tiny_package


@pytest.fixture(scope="module")
def package(tmp_path_factory, sample_objects) -> Path:
    return tiny_package(tmp_path_factory.mktemp("deb") / "tiny.deb", sample_objects)


@pytest.fixture(scope="module")
def unpacked(package, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("coll")
    return out, sweethome3d.unpack(package, out)


def _mapping(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "SOURCES.csv", newline="", encoding="utf-8") as fh:
        return {r["path"]: r for r in csv.DictReader(fh)}


def test_unpack_writes_models_and_their_mapping(unpacked, sample_objects):
    out, summary = unpacked
    rows = _mapping(out)
    assert set(rows) == {"objects/Tiny-CC-0/crate/crate.obj", "objects/Tiny-CC-0/bread/bread.obj",
                         "objects/Tiny-CC-BY/basketball/basketball.obj"}
    bread = rows["objects/Tiny-CC-0/bread/bread.obj"]
    # license from the copyright stanza of its catalog; name (\u escape decoded), creator, category from the catalog
    assert (bread["license"], bread["title"], bread["author"], bread["category"]) == (
        "CC0", "Bread \u00e0 la mode", "Bob", "Kitchen")
    assert rows["objects/Tiny-CC-BY/basketball/basketball.obj"]["license"] == "CC-BY-3.0-USA"
    # the model folder's files, byte for byte; the catalog's icon is not a model file and stays out
    for f in (sample_objects / "crate").glob("crate.*"):
        assert (out / "objects/Tiny-CC-0/crate" / f.name).read_bytes() == f.read_bytes()
    assert not list(out.rglob("*.png"))
    assert summary["models"] == 3 and summary["categories"] == {"Miscellaneous": 1, "Kitchen": 1, "Exterior": 1}
    assert summary["catalogs"]["Tiny-CC-BY"] == {"models": 1, "license": "CC-BY-3.0-USA"}


def test_second_unpack_reuses_the_first(unpacked, package):
    out, _ = unpacked
    before = (out / "SOURCES.csv").stat().st_mtime_ns
    (out / "objects/Tiny-CC-0/crate/crate.obj").unlink()  # reuse trusts collection.json + SOURCES.csv ...
    sweethome3d.unpack(package, out)
    assert (out / "SOURCES.csv").stat().st_mtime_ns == before
    (out / "collection.json").unlink()  # ... and without it unpacks again, restoring what is missing
    sweethome3d.unpack(package, out)
    assert (out / "objects/Tiny-CC-0/crate/crate.obj").is_file()


def test_catalog_subset(package, tmp_path):
    summary = sweethome3d.unpack(package, tmp_path, ("Tiny-CC-BY",))
    assert summary["models"] == 1 and list(_mapping(tmp_path)) == ["objects/Tiny-CC-BY/basketball/basketball.obj"]
    with pytest.raises(TkError, match="Nope: not in the package"):
        sweethome3d.unpack(package, tmp_path / "x", ("Nope",))


def test_members_that_leave_their_folder_are_never_written(sample_objects, tmp_path):
    props = ("id#1=a\nname#1=A\ncategory#1=Misc\nmodel#1=/ok/crate/crate.obj\n"
             "id#2=b\nname#2=B\ncategory#2=Misc\nmodel#2=/../../outside/x.obj\n")
    evil = catalog([("ok/crate", sample_objects / "crate", "Crate", "Misc", "A")],
                   extra={"ok/crate/../../../escape.obj": b"v 0 0 0\n"}, properties=props)
    pkg = deb(tmp_path / "evil.deb", {"Tiny-CC-0": evil})
    out = tmp_path / "out"
    summary = sweethome3d.unpack(pkg, out)
    assert summary["models"] == 1
    assert not (tmp_path / "escape.obj").exists() and not list(tmp_path.rglob("escape.obj"))
    assert not (tmp_path / "outside").exists()


@pytest.mark.parametrize("case, message", [
    ("not_ar", "not a Debian package"),
    ("no_catalogs", "no furniture catalogs"),
    ("corrupt_zip", "Tiny-CC-0.sh3f: corrupt catalog"),
    ("no_license", "Other.sh3f: the package's copyright file gives no license"),
    ("no_properties", "no PluginFurnitureCatalog.properties"),
])
def test_bad_packages_give_one_line(case, message, tmp_path, sample_objects):
    good = catalog([("c/crate", sample_objects / "crate", "Crate", "Misc", "A")])
    path = tmp_path / "bad.deb"
    if case == "not_ar":
        path.write_bytes(b"PK\x03\x04 not a deb")
    elif case == "no_catalogs":
        deb(path, {})
    elif case == "corrupt_zip":
        deb(path, {"Tiny-CC-0": good[: len(good) // 2]})
    elif case == "no_license":
        deb(path, {"Other": good})
    else:
        import io
        import zipfile

        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("c/crate/crate.obj", b"v 0 0 0\n")
        deb(path, {"Tiny-CC-0": buf.getvalue()})
    with pytest.raises(TkError, match=message) as e:
        sweethome3d.unpack(path, tmp_path / "out")
    assert "\n" not in str(e.value)


def test_fetch_checks_the_pinned_sha256(package, tmp_path, monkeypatch):
    with pytest.raises(TkError, match="is not the pinned sweethome3d-furniture 1.8-1"):
        sweethome3d.fetch_deb(tmp_path, package)
    with pytest.raises(TkError, match="--deb .*: file not found"):
        sweethome3d.fetch_deb(tmp_path, tmp_path / "missing.deb")
    monkeypatch.setenv("PATH", str(tmp_path))  # no apt-get on PATH and nothing cached: say what to do
    with pytest.raises(TkError, match="apt-get not found: .*pass --deb FILE"):
        sweethome3d.fetch_deb(tmp_path / "cache")


def test_tk_fetch_command(package, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sweethome3d, "DEB_SHA256", sha256_file(package))
    assert main(["fetch", "sweethome3d", "--out", str(tmp_path / "c"), "--deb", str(package)]) == 0
    assert "3 models in 3 categories" in capsys.readouterr().out
    assert main(["fetch", "nope", "--out", str(tmp_path / "d")]) == 2
    assert "choose one of sweethome3d" in capsys.readouterr().err


def test_mapping_row_without_license_is_one_line(tmp_path, sample_objects):
    (tmp_path / "m.csv").write_text("path,license,category\ncrate/crate.obj,CC0,Misc\nbread/bread.obj,,Kitchen\n")
    with pytest.raises(TkError, match=r"entry 2 \(bread/bread.obj\) has no license"):
        local.load_mapping(tmp_path / "m.csv", sample_objects)


def test_curate_takes_license_creator_title_and_category(unpacked, tmp_path, ray_session):
    out, _ = unpacked
    cfg = CurateConfig(source="local", input=out / "objects", licenses=out / "SOURCES.csv", out=tmp_path / "cur",
                       license="cc-by", workers=2, max_per_category=1)
    summary = curate(cfg)
    rows = {r["file_identifier"]: r for r in
            contracts.read_table(tmp_path / "cur" / "manifest.parquet", contracts.MANIFEST).to_pylist()}
    ball = rows["Tiny-CC-BY/basketball/basketball.obj"]
    assert (ball["license"], ball["author"], ball["title"], ball["category"], ball["reason"]) == (
        "cc-by-3.0", "Carol", "Ball", "Exterior", None)
    assert rows["Tiny-CC-0/bread/bread.obj"]["license"] == "cc0-1.0"
    assert {r["category"] for r in rows.values()} == {"Miscellaneous", "Kitchen", "Exterior"}
    assert summary["kept"] == 3
    # per-category caps see the categories: one Kitchen object, so a cap of 1 keeps all three
    cfg2 = CurateConfig(source="local", input=out / "objects", licenses=out / "SOURCES.csv", out=tmp_path / "cur2",
                        license="cc-by", workers=2, where="category <> 'Kitchen'")
    assert curate(cfg2)["kept"] == 2


@pytest.mark.parametrize("name, text, message", [
    ("map.json", "5", "not a list or mapping"),
    ("map.json", "null", "not a list or mapping"),
    ("map.json", '[{"path": "' + "x" * 300 + '", "license": "by"}]', r"entry 1 \('x+'\): not a usable path"),
    ("map.csv", "path,license\n" + "x" * 300 + ",by\n", r"entry 1 \('x+'\): not a usable path"),
    ("map.json", '[{"path": "a\\u0000b", "license": "by"}]', "entry 1 .*: not a usable path"),
])
def test_mapping_that_is_not_a_mapping_is_one_line(tmp_path, sample_objects, name, text, message):
    (tmp_path / name).write_text(text)
    with pytest.raises(TkError, match=message) as e:
        local.load_mapping(tmp_path / name, sample_objects)
    assert "\n" not in str(e.value)
