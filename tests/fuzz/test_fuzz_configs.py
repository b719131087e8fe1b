"""YAML a user hands tk: train configs (`tk train --config FILE`) and release specs (`tk release build SPEC`).

Properties, for any text and any structure near the real keys: the loader returns a validated config or
raises one line of TkError; nothing is written, and nothing but the file itself is opened.
"""

from __future__ import annotations

import dataclasses

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.conftest import one_line, reads_only
from tk.errors import TkError

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.sampled_from(["nan", "-1", "0", "1e400", "tiny", "patch", "train", "local", "2001-02-30",
                                           "../x", "/etc/passwd", "~", "1,2", "a\x00b", ">=0.1", "by"]),
)
VALUES = st.recursive(SCALARS, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
                      max_leaves=8)


def _keys(*names: str) -> st.SearchStrategy:
    return st.one_of(st.sampled_from(names), st.text(max_size=6), st.integers(-3, 3), st.booleans())


def _mapping(keys: st.SearchStrategy, values: st.SearchStrategy) -> st.SearchStrategy:
    return st.dictionaries(keys, values, max_size=5)


def _train_fields() -> dict[str, tuple[str, ...]]:
    from tk.train import config

    return {name: tuple(f.name for f in dataclasses.fields(cls)) for name, cls in config._SECTIONS.items()}


TRAIN = _mapping(_keys("model", "data", "loss", "optim", "train"), st.one_of(
    VALUES, *[_mapping(_keys(*fields), VALUES) for fields in _train_fields().values()]))
SOURCE = _mapping(_keys("source", "input", "xl_dir", "licenses", "no_download"), VALUES)
SPEC = _mapping(_keys("name", "version", "description", "tk_version", "sources", "curation", "render"), st.one_of(
    VALUES, st.lists(SOURCE, max_size=2), _mapping(_keys("where", "licenses", "min_faces", "formats"), VALUES)))
# Text that is not a dump: YAML's tags, anchors, dates, odd bytes.
RAW = st.one_of(st.text(max_size=60), st.sampled_from([
    "a: 2001-02-30\n", "!!python/object:os.system {}\n", "&a [*a]\n", "? [a]\n: 1\n", "data: {views: !!binary AAAA}\n",
    "1: a\nfoo: b\n", "model: {}\n" * 2, "- 1\n- 2\n", "train:\n  max_steps: 1e3\n", "\ufeffmodel: tiny\n",
    "name: x\nversion: 1\nsources: [{source: local, input: /nonexistent}]\n", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
]))


def _text(data: object) -> str:
    return yaml.safe_dump(data, allow_unicode=True) if not isinstance(data, str) else data


def _load(tmp_path, watch, text: str, name: str, loader) -> None:
    path = tmp_path / name
    try:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    except (UnicodeEncodeError, ValueError):
        path.write_bytes(text.encode("utf-8", "replace"))
    reads_only(watch, path, loader)


@given(st.one_of(TRAIN.map(_text), RAW))
def test_train_config_yaml(tmp_path, watch, text):
    from tk.train.config import load_config

    _load(tmp_path, watch, text, "config.yaml", load_config)


@given(st.one_of(SPEC.map(_text), RAW))
def test_release_spec_yaml(tmp_path, watch, text):
    from tk.release.spec import load_spec

    _load(tmp_path, watch, text, "spec.yaml", load_spec)


@pytest.mark.parametrize("text", ["a: 2001-02-30\n", "1: a\nfoo: b\n", "data:\n  1: 2\n  views: 1\n", b"\xff\xfe"])
def test_yaml_that_crashed_the_loaders(tmp_path, text):
    # Each raised ValueError or TypeError (a traceback) before the fix.
    from tk.release.spec import load_spec
    from tk.train.config import load_config

    for loader in (load_config, load_spec):
        path = tmp_path / "f.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        with pytest.raises(TkError) as e:
            loader(path)
        assert one_line(e.value)
