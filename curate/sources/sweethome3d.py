"""Debian's `sweethome3d-furniture` package as a collection: 820 textured OBJ models with license, creator,
name and category, unpacked into a folder that `tk curate --source local` takes.

The package (1.8-1, ~120 MB) holds five `.sh3f` catalogs (zip files); each catalog's
`PluginFurnitureCatalog.properties` names, per model, its id, name, category, creator and model path, and
the package's `copyright` file gives the license of each catalog's folder. `unpack` writes

    OUT/objects/<catalog>/<model folder>/...   the model's OBJ, MTL and textures
    OUT/SOURCES.csv                             path,license,author,title,url,category (the `--licenses` mapping)
    OUT/collection.json                         package, version, sha256, per-catalog and per-category counts

The .deb is read with the standard library (ar + tar + zip); nothing in it runs, and every written path is a
plain relative name inside OUT (a member that would leave its folder is refused). The package comes from
the Debian registry through `apt-get download` (cached), or from a file the user gives (`--deb`); its sha256
must be the pinned one.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import tarfile
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tk import atomic
from tk.errors import TkError
from tk.hashing import sha256_file

PACKAGE = "sweethome3d-furniture"
VERSION = "1.8-1"
DEB_NAME = f"{PACKAGE}_{VERSION}_all.deb"
DEB_SHA256 = "3ccb90c63f9525e887a767b9cd5c8b6933b8b6b2973a615a5359ee68a2118668"
CATALOG_DIR = "usr/share/sweethome3d/furniture/"
COPYRIGHT = f"usr/share/doc/{PACKAGE}/copyright"
PROPERTIES = "PluginFurnitureCatalog.properties"
SOURCE_URL = "http://www.sweethome3d.com/importModels.jsp"
MAPPING_COLUMNS = ("path", "license", "author", "title", "url", "category")
_MAX_MEMBER = 512 * 1024 * 1024  # no member of the package is near this; a bigger one is not this package
_MAX_NAME_BYTES = 200  # a file name inside a catalog; the package's longest is far shorter
# A damaged zip, as zipfile reports it: bad CRC or header, corrupt deflate data, an unsupported version or
# compression, an encrypted entry, a name flagged UTF-8 that is not, a truncated member.
_DAMAGED = (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, UnicodeDecodeError, EOFError)


@dataclass(frozen=True)
class Model:
    """One catalog entry: where its files lie in the catalog zip and what the catalog says of it."""

    catalog: str
    folder: str  # the model's folder inside the zip (no leading slash)
    model: str  # the model file's path inside the zip
    name: str
    category: str
    creator: str


def default_cache() -> Path:
    """Where the downloaded .deb is kept between runs (~/.cache/tk/debs)."""
    return Path.home() / ".cache" / "tk" / "debs"


def fetch_deb(cache: Path, deb: Path | None = None) -> Path:
    """The package file: `deb` if given, else the cached copy, else `apt-get download` into `cache`."""
    if deb is not None:
        if not deb.is_file():
            raise TkError(f"--deb {deb}: file not found")
        return _checked(deb)
    cached = cache / DEB_NAME
    if cached.is_file():
        return _checked(cached)
    if shutil.which("apt-get") is None:
        raise TkError(f"apt-get not found: download {DEB_NAME} from a Debian mirror (pool/main/s/sweethome3d-furniture/) "
                      "and pass --deb FILE")
    cache.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["apt-get", "download", f"{PACKAGE}={VERSION}"], cwd=cache, capture_output=True, text=True)
    if done.returncode != 0 or not cached.is_file():
        why = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise TkError(f"apt-get download {PACKAGE}={VERSION} failed ({why}); run `apt-get update` or pass --deb FILE")
    return _checked(cached)


def _checked(deb: Path) -> Path:
    digest = sha256_file(deb)
    if digest != DEB_SHA256:
        raise TkError(f"{deb}: sha256 {digest[:16]}... is not the pinned {PACKAGE} {VERSION} ({DEB_SHA256[:16]}...); "
                      "delete it or pass the right --deb")
    return deb


def deb_members(deb: Path) -> dict[str, bytes]:
    """The catalogs (`<name>.sh3f`) and the copyright text of the package, read from its data archive."""
    data = _ar_member(deb, "data.tar")
    out: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            for member in tar:
                name = member.name.lstrip("./")
                wanted = name == COPYRIGHT or (name.startswith(CATALOG_DIR) and name.endswith(".sh3f"))
                if wanted and member.isfile() and member.size <= _MAX_MEMBER:
                    fh = tar.extractfile(member)
                    out[PurePosixPath(name).name if name != COPYRIGHT else "copyright"] = fh.read() if fh else b""
    except (tarfile.TarError, EOFError, OSError) as e:
        raise TkError(f"{deb}: corrupt package data archive ({e})") from None
    if "copyright" not in out or not any(k.endswith(".sh3f") for k in out):
        raise TkError(f"{deb}: no furniture catalogs or copyright file inside; not the {PACKAGE} package")
    return out


def _ar_member(deb: Path, prefix: str) -> bytes:
    """The first member of the ar archive `deb` whose name starts with `prefix` (data.tar.xz, ...)."""
    with open(deb, "rb") as fh:
        if fh.read(8) != b"!<arch>\n":
            raise TkError(f"{deb}: not a Debian package (no ar header)")
        while True:
            header = fh.read(60)
            if len(header) < 60:
                raise TkError(f"{deb}: no {prefix}* member; not a complete Debian package")
            name = header[:16].decode("ascii", "replace").strip().rstrip("/")
            try:
                size = int(header[48:58].decode("ascii").strip())
            except ValueError:
                raise TkError(f"{deb}: corrupt ar header") from None
            if name.startswith(prefix):
                if size > _MAX_MEMBER:
                    raise TkError(f"{deb}: {name} is {size} bytes; not the {PACKAGE} package")
                data = fh.read(size)
                if len(data) < size:
                    raise TkError(f"{deb}: {name} is truncated")
                return data
            fh.seek(size + (size & 1), 1)


def catalog_licenses(copyright_text: str) -> dict[str, str]:
    """{catalog folder: license} from the machine-readable copyright file's `Files: X/*` stanzas."""
    out: dict[str, str] = {}
    for stanza in re.split(r"\n\s*\n", copyright_text):
        files = re.search(r"^Files:\s*(\S+)/\*\s*$", stanza, re.M)
        lic = re.search(r"^License:\s*(\S.*?)\s*$", stanza, re.M)
        if files and lic and files.group(1) != "debian":
            out[files.group(1)] = lic.group(1)
    return out


def parse_properties(text: str) -> dict[str, dict[str, str]]:
    """A catalog's `key#N=value` lines as {N: {key: value}} (Java properties: \\uXXXX escapes, continued lines)."""
    text = re.sub(r"\\\r?\n[ \t]*", "", text)
    entries: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        m = re.match(r"^\s*([A-Za-z]\w*)#(\d+)\s*[=:]\s*(.*)$", line)
        if m:
            entries.setdefault(m.group(2), {})[m.group(1)] = _unescape(m.group(3).strip())
    return entries


def _unescape(value: str) -> str:
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), value).replace("\\:", ":").replace("\\=", "=")


def catalog_models(catalog: str, zf: zipfile.ZipFile) -> list[Model]:
    """The models a catalog zip lists, each with its folder inside the zip."""
    try:
        props = zf.read(PROPERTIES).decode("latin-1")
    except KeyError:
        raise TkError(f"{catalog}.sh3f: no {PROPERTIES}; not a Sweet Home 3D furniture catalog") from None
    models = []
    for _, e in sorted(parse_properties(props).items(), key=lambda kv: int(kv[0])):
        path = e.get("model", "").lstrip("/")
        if not path or not _safe(path):
            continue
        folder = str(PurePosixPath(path).parent)
        models.append(Model(catalog, folder, path, e.get("name", ""), e.get("category", ""), e.get("creator", "")))
    return models


def _safe(name: str) -> bool:
    parts = PurePosixPath(name).parts
    # each part short enough that the atomic writer's temp name (".NAME.tmp-XXXXXXXX") fits the 255-byte limit
    return bool(parts) and not name.startswith("/") and ".." not in parts and "\\" not in name and ":" not in name \
        and all(len(p.encode("utf-8", "surrogatepass")) <= _MAX_NAME_BYTES for p in parts)


def unpack(deb: Path, out: Path, catalogs: tuple[str, ...] | None = None) -> dict:
    """Unpack the package's models into OUT/objects and write OUT/SOURCES.csv and OUT/collection.json.

    Reuses an earlier unpack of the same package (collection.json with the same sha256 and catalogs).
    Returns the collection summary.
    """
    summary_path = out / "collection.json"
    if summary_path.is_file():
        try:
            done = json.loads(summary_path.read_text())
        except ValueError:
            done = {}
        if done.get("sha256") == DEB_SHA256 and done.get("catalogs_requested") == (list(catalogs) if catalogs else None) \
                and (out / "SOURCES.csv").is_file():
            return done
    members = deb_members(deb)
    licenses = catalog_licenses(members["copyright"].decode("utf-8", "replace"))
    names = sorted(k[:-5] for k in members if k.endswith(".sh3f"))
    if catalogs:
        unknown = sorted(set(catalogs) - set(names))
        if unknown:
            raise TkError(f"--catalogs {','.join(unknown)}: not in the package; choose from {','.join(names)}")
        names = [n for n in names if n in catalogs]
    rows: list[dict[str, str]] = []
    per_catalog: dict[str, int] = {}
    for name in names:
        if name not in licenses:
            raise TkError(f"{name}.sh3f: the package's copyright file gives no license for it")
        try:
            zf = zipfile.ZipFile(io.BytesIO(members[f"{name}.sh3f"]))
            models = catalog_models(name, zf)
            per_catalog[name] = len(models)
            for model in models:
                rel = _extract_folder(zf, model, out / "objects" / name)
                rows.append({"path": f"objects/{name}/{rel}", "license": licenses[name], "author": model.creator,
                             "title": model.name, "url": SOURCE_URL, "category": model.category})
        except _DAMAGED as e:  # what zipfile raises for a damaged zip, in its several words
            raise TkError(f"{name}.sh3f: corrupt catalog ({type(e).__name__}: {e})") from None
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=MAPPING_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic.write_text(out / "SOURCES.csv", buf.getvalue())
    summary = {"package": PACKAGE, "version": VERSION, "sha256": DEB_SHA256,
               "catalogs_requested": list(catalogs) if catalogs else None, "models": len(rows),
               "catalogs": {n: {"models": per_catalog[n], "license": licenses[n]} for n in names},
               "categories": dict(Counter(r["category"] for r in rows).most_common())}
    atomic.write_text(summary_path, json.dumps(summary, indent=2) + "\n")
    return summary


def _extract_folder(zf: zipfile.ZipFile, model: Model, dest: Path) -> str:
    """Write the files of the model's folder under dest/<folder name>/; the model file's path relative to dest."""
    folder = PurePosixPath(model.folder)
    target = dest / folder.name
    for info in zf.infolist():
        inner = PurePosixPath(info.filename)
        if info.is_dir() or inner.parent != folder or not _safe(info.filename) or info.file_size > _MAX_MEMBER:
            continue  # only the model folder's own files; sub-folders of a model folder do not occur
        path = target / inner.name
        if path.is_file() and path.stat().st_size == info.file_size:
            continue  # an interrupted earlier unpack wrote it
        try:
            data = zf.read(info)
        except (*_DAMAGED, OSError) as e:
            raise TkError(f"{model.catalog}.sh3f: corrupt member {info.filename} ({e})") from None
        atomic.write_bytes(path, data)
    if not (target / PurePosixPath(model.model).name).is_file():
        raise TkError(f"{model.catalog}.sh3f: model file {model.model} listed but missing from the catalog")
    return f"{folder.name}/{PurePosixPath(model.model).name}"
