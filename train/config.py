"""Training configuration: validated dataclasses, YAML presets in configs/train/, unknown keys are an error.

A config file has five sections: `model` (a model preset name, or the official TripoSR config inline),
`data`, `loss`, `optim` and `train`. Presets are the YAML files `configs/train/<name>.yaml`.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field
from pathlib import Path
from typing import Any


from tk import yamlfile
from tk.errors import TkError
from tk.model.config import config_from_dict as model_config_from_dict
from tk.model.config import DENSITY_THRESHOLD, MESH_RESOLUTION, load_model_config
from tk.sections import build_section, check_known, setting
from tk.splits import SPLITS
from tk.train import remote_read

PRESETS_DIR = Path(__file__).resolve().parents[1] / "configs" / "train"
PRESETS = ("tiny", "cpu", "generalise", "small", "triposr", "finetune")


def _check(ok: bool, msg: str) -> None:
    if not ok:
        raise TkError(f"train config: {msg}")


@dataclass
class DataConfig:
    """What each sample holds and how the shards are streamed."""

    views: int = 4  # supervision views per object, the input view included
    patch_size: int = 128  # PxP patch per supervision view, inside the renders (scattered: P*P rays)
    uniform_share: float = 0.25  # share of patch centres (or scattered pixels) drawn uniformly instead of by the mask
    sampling: str = "patch"  # patch: PxP windows (LPIPS needs them); scattered: P*P pixels drawn one by one
    batch_size: int = 1  # objects per step and process
    num_workers: int = 2  # DataLoader worker processes per rank (0 = decode in the main process)
    shuffle_buffer: int = 64  # objects held in the shuffle buffer of each worker
    split: str = "train"  # train, val, test, or all (every object, e.g. to measure how well a model fits them)
    input_fovy_tolerance_deg: float = 0.5
    exclude_views: list[int] = field(default_factory=list)  # view indices never trained on (novel views for eval)
    # train on this many objects of the split: the first by a hash of their uid, so 100 lie inside 300 (data curves)
    max_objects: int | None = None
    # remote data (s3://, gs://, fsspec): tries of one shard read, and the most it may take, waits included
    read_tries: int = remote_read.TRIES
    read_budget_s: float = remote_read.BUDGET_S

    def __post_init__(self) -> None:
        _check(self.views >= 1, "data.views must be >= 1")
        _check(self.patch_size >= 8, "data.patch_size must be >= 8")
        _check(0.0 <= self.uniform_share <= 1.0, "data.uniform_share must lie in [0, 1]")
        _check(self.sampling in ("patch", "scattered"), "data.sampling must be 'patch' or 'scattered'")
        _check(self.batch_size >= 1, "data.batch_size must be >= 1")
        _check(self.num_workers >= 0, "data.num_workers must be >= 0")
        _check(self.shuffle_buffer >= 1, "data.shuffle_buffer must be >= 1")
        _check(self.split in ("train", "val", "test", "all"), "data.split must be train, val, test or all")
        _check(isinstance(self.exclude_views, list) and all(isinstance(v, int) and v >= 0 for v in self.exclude_views),
               "data.exclude_views must be a list of view indices (integers >= 0)")
        _check(self.max_objects is None or (isinstance(self.max_objects, int) and self.max_objects >= 1),
               "data.max_objects must be an integer >= 1 (or null for every object of the split)")
        _check(self.read_tries >= 1, "data.read_tries must be >= 1")
        _check(self.read_budget_s >= 0, "data.read_budget_s must be >= 0")

    def reads(self) -> remote_read.ReadPolicy:
        """How a read of remote shards is retried (train/remote_read.py)."""
        return remote_read.ReadPolicy(self.read_tries, self.read_budget_s)


@dataclass
class LossConfig:
    """loss = MSE + lambda_lpips * LPIPS + lambda_mask * BCE(opacity, mask)."""

    lambda_lpips: float = 1.0
    lambda_mask: float = 1.0
    lpips_net: str = "vgg"

    def __post_init__(self) -> None:
        _check(self.lambda_lpips >= 0 and self.lambda_mask >= 0, "loss weights must be >= 0")
        _check(self.lpips_net in ("vgg", "alex"), "loss.lpips_net must be 'vgg' or 'alex'")


@dataclass
class OptimConfig:
    """AdamW (no decay on norms, biases and embeddings), cosine schedule with linear warmup."""

    lr: float = 4e-4
    min_lr_ratio: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    weight_decay: float = 0.05
    warmup_steps: int = 1000
    grad_clip: float = 1.0  # 0 disables clipping
    accum_steps: int = 1
    ema_decay: float = 0.0  # 0 disables EMA

    def __post_init__(self) -> None:
        self.betas = tuple(float(b) for b in self.betas)  # type: ignore[assignment]
        _check(self.lr > 0, "optim.lr must be > 0")
        _check(0.0 <= self.min_lr_ratio <= 1.0, "optim.min_lr_ratio must lie in [0, 1]")
        _check(len(self.betas) == 2 and all(0 <= b < 1 for b in self.betas), "optim.betas must be two values in [0, 1)")
        _check(self.weight_decay >= 0, "optim.weight_decay must be >= 0")
        _check(self.warmup_steps >= 0, "optim.warmup_steps must be >= 0")
        _check(self.grad_clip >= 0, "optim.grad_clip must be >= 0")
        _check(self.accum_steps >= 1, "optim.accum_steps must be >= 1")
        _check(0.0 <= self.ema_decay < 1.0, "optim.ema_decay must lie in [0, 1)")


@dataclass
class TrainSection:
    """Length, logging, checkpointing and memory switches of a run."""

    max_steps: int = 100_000  # optimiser steps; the cosine schedule ends here
    seed: int = 0
    log_every: int = 10
    image_every: int = 500  # TensorBoard image grids
    checkpoint_every: int = 1000
    keep_last: int = 3
    nan_patience: int = 5  # stop after this many non-finite losses in a row
    precision: str = "auto"  # auto: bf16 autocast on GPU, fp32 on CPU
    checkpoint_tokenizer: bool = False  # gradient checkpointing switches of the model
    checkpoint_backbone: bool = False
    checkpoint_renderer: bool = False
    render_chunk_rays: int = 2048  # rays per checkpointed render chunk: bounds activation memory in backward

    def __post_init__(self) -> None:
        _check(self.max_steps >= 1, "train.max_steps must be >= 1")
        for name in ("log_every", "image_every", "checkpoint_every", "keep_last", "nan_patience", "render_chunk_rays"):
            _check(getattr(self, name) >= 1, f"train.{name} must be >= 1")
        _check(self.precision in ("auto", "fp32", "bf16"), "train.precision must be auto, fp32 or bf16")


@dataclass
class TrainConfig:
    """A whole training config; `model` is a model preset name or an official TripoSR config mapping."""

    model: str | dict[str, Any] = "tiny"
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainSection = field(default_factory=TrainSection)

    def __post_init__(self) -> None:
        _check(self.data.sampling == "patch" or self.loss.lambda_lpips == 0,
               "data.sampling 'scattered' draws no image windows for LPIPS to compare: set loss.lambda_lpips to 0")

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping, as written to the run directory's config.yaml."""
        out = asdict(self)
        out["optim"]["betas"] = list(self.optim.betas)
        return out

    def model_config(self) -> Any:
        """The validated TripoSRConfig named or given inline by the `model` section."""
        if isinstance(self.model, str):
            return load_model_config(self.model)
        return model_config_from_dict(self.model)


_SECTIONS = {"data": DataConfig, "loss": LossConfig, "optim": OptimConfig, "train": TrainSection}


def _section(name: str, cls: type, values: Any) -> Any:
    return build_section("train config", name, cls, values)


def config_from_dict(raw: dict[str, Any]) -> TrainConfig:
    """Build a validated TrainConfig from a mapping with the five sections."""
    if not isinstance(raw, dict):
        raise TkError("train config: expected a mapping with sections model, data, loss, optim, train")
    check_known(raw, ("model", *_SECTIONS), "train config", what="section")
    model = raw.get("model", "tiny")
    if not isinstance(model, (str, dict)):
        raise TkError("train config: 'model' must be a model preset name or an official config mapping")
    return TrainConfig(model=model, **{name: _section(name, cls, raw.get(name)) for name, cls in _SECTIONS.items()})


def load_config(name_or_path: str | Path | TrainConfig) -> TrainConfig:
    """A preset name (tiny, small, triposr), a YAML file, or an existing TrainConfig."""
    if isinstance(name_or_path, TrainConfig):
        return name_or_path
    path = PRESETS_DIR / f"{name_or_path}.yaml" if str(name_or_path) in PRESETS else Path(name_or_path)
    if not path.is_file():
        raise TkError(f"train config {str(name_or_path)!r} not found: give a preset ({', '.join(PRESETS)}) or a YAML file")
    raw = yamlfile.read(path, f"train config {path}")
    return config_from_dict(raw)


@dataclass
class TrainRun:
    """One `tk train` run: the config (preset name, YAML file or TrainConfig) and what it reads and writes.

    `tk.train.loop.run(job)` runs it; `tk train`'s options are generated from these fields (tk.sections).
    """

    data: str = setting(MISSING, "Renders folder (RENDERS_DIR/shards/*.parquet), local or a URL (s3://, gs://, "
                        "fsspec).", cli="--data")
    out: Path = setting(MISSING, "Run folder: metrics.jsonl, checkpoints/, tb/.", cli="--out")
    # None: the saved config of a resumed run
    config: str | Path | TrainConfig | None = setting(
        None, "tiny | cpu | generalise | small | triposr | finetune | a YAML file (optional with --resume).",
        cli="--config")
    max_steps: int | None = setting(None, "Stop at this step (the lr schedule keeps the config's train.max_steps).",
                                    cli="--max-steps")
    resume: bool = setting(False, "Continue from RUN/checkpoints/latest (starts fresh when there is none).",
                           cli="--resume")
    init: Path | None = setting(None, "Fine-tune the weights of a checkpoint folder (config.yaml + model.safetensors "
                                "/ model.ckpt); optimiser defaults of configs/train/finetune.yaml.", cli="--init")
    init_dino: Path | None = setting(None, "Initialise the image encoder from a local facebook/dino-vitb16 folder.",
                                     cli="--init-dino")

    def __post_init__(self) -> None:
        if self.config is None and not self.resume:
            raise TkError("give --config tiny|cpu|small|triposr|finetune|FILE (or --resume an existing run)")
        if self.max_steps is not None and self.max_steps < 1:
            raise TkError(f"--max-steps {self.max_steps}: must be at least 1")


@dataclass
class EvalRun:
    """One `tk eval` run: a checkpoint, the renders it is scored on, and where the report goes.

    `tk.train.evaluate.run(job)` runs it; `tk eval`'s options are generated from these fields (tk.sections).
    """

    checkpoint: Path = setting(help="A checkpoint folder, or a run folder (uses checkpoints/latest).", argument=True)
    data: str = setting(help="Renders folder with the objects to evaluate.")
    out: Path = setting(help="Where report.md, report.json and grid.png go.")
    split: str = setting("test", "train | val | test | all.")
    views: str = setting("auto", "Views to score: auto (the views the run held out of training, its "
                         "data.exclude_views, else all), all (every view but the input), or a list such as 12,13,14,15.")
    baseline: str = setting("white", "white: the all-white baseline only; retrieval: also the model's reconstruction of "
                            "the nearest training input (the train split of --data) seen from each object's cameras.")
    manifest: Path | None = setting(None, "A `tk curate` folder whose `category` column groups the report "
                                    "(default: the renders' own, when they carry one).")
    gt_meshes: Path | None = setting(None, "Folder of <uid>.glb/.obj/.ply/.stl in the renders' normalised frame, "
                                     "used instead of the surface the render stage stored.")
    mesh_resolution: int = setting(MESH_RESOLUTION, "Marching-cubes grid size (at least 16).")
    density_threshold: float | None = setting(
        None, "Density level of the isosurface whose Chamfer distance and F-scores are reported; default: the level "
        f"chosen for the checkpoint (its surface.json), else {DENSITY_THRESHOLD:g} (the official extract_mesh level).")
    density_sweep: str = setting("", "Also score the isosurfaces at these density levels, e.g. 2,5,10,25 (report's "
                                 "surface_sweep, from the same grid): choose --density-threshold on a validation split.")
    limit: int | None = setting(None, "Evaluate only the first N objects.")
    raw_weights: bool = setting(False, "Evaluate model.safetensors even when the checkpoint has EMA weights "
                                "(used by default).", cli="--raw-weights")
    read_tries: int = setting(remote_read.TRIES, "Tries of one read of remote --data (s3://, gs://, fsspec) before "
                              "it fails.")
    read_budget_s: float = setting(remote_read.BUDGET_S, "The most seconds one read of remote --data may take, its "
                                   "tries and waits (1, 2, 4 ... s, at most 60 s) together.")

    def __post_init__(self) -> None:
        if self.split not in (*SPLITS, "all"):
            raise TkError(f"--split {self.split}: use train, val, test or all")
        if self.baseline not in ("white", "retrieval"):
            raise TkError(f"--baseline {self.baseline}: use white or retrieval")
        if self.views not in ("auto", "all"):
            parse_views(self.views)
        if self.density_threshold is not None and not self.density_threshold > 0:
            raise TkError(f"--density-threshold {self.density_threshold:g}: must be above 0")
        self.sweep_levels  # a one-line error for a malformed --density-sweep
        if self.mesh_resolution < 16:
            raise TkError(f"--mesh-resolution {self.mesh_resolution}: must be at least 16")
        if self.limit is not None and self.limit < 1:
            raise TkError(f"--limit {self.limit}: must be at least 1")
        if self.read_tries < 1 or self.read_budget_s < 0:
            raise TkError(f"--read-tries {self.read_tries} --read-budget-s {self.read_budget_s:g}: tries must be at "
                          "least 1, the budget at least 0")


    @property
    def sweep_levels(self) -> tuple[float, ...]:
        """--density-sweep as sorted levels (empty: no sweep)."""
        try:
            levels = tuple(sorted({float(v) for v in self.density_sweep.split(",") if v.strip()}))
        except ValueError:
            levels = (-1.0,)
        if any(not level > 0 for level in levels):
            raise TkError(f"--density-sweep {self.density_sweep!r}: use a comma list of density levels above 0, "
                          "such as 2,5,10,25")
        return levels


def parse_views(spec: str) -> list[int]:
    """"12,13,14" -> [12, 13, 14]; a one-line TkError for anything else."""
    try:
        views = sorted({int(v) for v in spec.split(",") if v.strip()})
    except ValueError:
        views = []
    if not views or min(views) < 0:
        raise TkError(f"--views {spec!r}: use auto, all, or a comma list of view indices such as 12,13,14,15")
    return views


def with_overrides(config: TrainConfig, **sections: dict[str, Any]) -> TrainConfig:
    """A copy of `config` with some section fields replaced, validated again."""
    raw = config.to_dict()
    for name, values in sections.items():
        raw[name].update(values)
    return config_from_dict(raw)
