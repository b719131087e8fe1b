"""The training loop: image -> scene codes -> patch renders -> loss -> AdamW, with checkpoints and logs.

One step: for each of `accum_steps` batches, encode the input views, render the V patches of each
object from its scene code, and back-propagate MSE + LPIPS + mask BCE; then clip, step the optimiser
and the schedule, update the EMA. Non-finite losses skip the step; K in a row stop the run.
The same code runs alone or under torchrun (train/distributed.py); only rank 0 writes.
"""

from __future__ import annotations

import contextlib
import errno
import math
import time
from pathlib import Path
from typing import Any

import torch
import yaml

from tk import atomic
from tk.errors import TkError
from tk.faults import StorageError
from tk.framing import FRAMING_FILE
from tk.model import TripoSR
from tk.progress import progress
from tk.train import checkpoint, distributed
from tk.train.config import TrainConfig, TrainRun, config_from_dict, load_config
from tk.train.data import SampleSpec, make_loader
from tk.train.finetune import config_for_init
from tk.train.losses import TrainingLoss
from tk.train.optim import EMA, make_optimizer, make_scheduler
from tk.train.run_log import RunLog, truncate_metrics
from tk.train.shards import ShardIndex


class PatchRenderer(torch.nn.Module):
    """TripoSR as one forward call (so DDP sees it): input views + patch rays -> rgb and opacity."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor, rays_o: torch.Tensor, rays_d: torch.Tensor) -> dict[str, torch.Tensor]:
        """images (B,3,S,S), rays (B,V,N,3) -> rgb (B,V,N,3) on white, opacity and log transmittance (B,V,N,1)."""
        codes = self.model.encode(images)
        out = [self.model.renderer.render_rays(self.model.decoder, code, o, d)
               for code, o, d in zip(codes, rays_o, rays_d)]
        return {k: torch.stack([o[k] for o in out]) for k in ("rgb", "opacity", "log_transmittance")}


def build_model(config: TrainConfig, init: str | Path | None, init_dino: str | Path | None, seed: int) -> Any:
    """TripoSR from the config (seeded init), or from a checkpoint folder with --init; DINO weights optional."""
    if init is not None:
        model = TripoSR.from_pretrained(init).train()
    else:
        torch.manual_seed(seed)
        model = TripoSR(config.model_config())
    if init_dino is not None:
        model.load_dino(init_dino)
    # The ViT pooler exists for strict loading of official weights but is never used: no gradient, no DDP wait.
    for name, p in model.named_parameters():
        if ".pooler." in name:
            p.requires_grad_(False)
    t = config.train
    model.set_gradient_checkpointing(t.checkpoint_tokenizer, t.checkpoint_backbone, t.checkpoint_renderer)
    if t.checkpoint_renderer:  # backward recomputes one chunk at a time: memory of one chunk, not of every view
        model.renderer.chunk_size = t.render_chunk_rays * model.cfg.renderer.num_samples_per_ray
    return model


def _prepare_run(config: Any, out: Path, resume: bool, is_main: bool, init: Any = None) -> tuple[TrainConfig, Path | None]:
    """The run's config (saved in RUN/config.yaml) and the checkpoint to resume from, if any.

    A new run from trained weights (`init`) named by a preset or a YAML file takes the fine-tuning optimiser
    defaults wherever that config did not choose them (tk.train.finetune); a TrainConfig object is used as given.
    """
    saved = out / "config.yaml"
    last = checkpoint.latest(out) if resume else None
    if is_main:
        checkpoint.remove_stale_temps(out)  # what a run killed mid-save left
    if last is not None:
        if not saved.is_file():
            return load_config(config), last
        cfg = config_from_dict(yaml.safe_load(saved.read_text()))
        if config is not None:  # a config given on resume must be the one the run was started with
            given = config if isinstance(config, TrainConfig) else _new_run_config(config, init, False)
            if (keys := _differences(given.to_dict(), cfg.to_dict())):
                raise TkError(f"--config {config if not isinstance(config, TrainConfig) else '(given)'} differs from "
                              f"{saved} in {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''}; resume without "
                              "--config (the run's own is used) or start a new --out")
        return cfg, last
    if not resume and checkpoint.list_steps(out):
        raise TkError(f"{out} already holds checkpoints; pass --resume to continue it or choose a new --out")
    if config is None:
        raise TkError("no --config given and nothing to resume; pass --config tiny|cpu|small|triposr|finetune|FILE")
    cfg = _new_run_config(config, init, is_main)
    if is_main:
        atomic.write_text(saved, yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    return cfg, None


def _new_run_config(config: Any, init: Any, announce: bool) -> TrainConfig:
    """The config a new run takes from `config`: with `init`, a preset or file gets the fine-tuning defaults."""
    if init is None or isinstance(config, TrainConfig):
        return load_config(config)

    cfg, applied = config_for_init(config)
    if applied and announce:
        values = ", ".join(f"{k} {v:g}" for k, v in applied.items())
        print(f"fine-tuning (--init): {values} (configs/train/finetune.yaml; set optim.* in a config file "
              "to choose others)", flush=True)
    return cfg


def _differences(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two config mappings."""
    out = []
    for key in sorted(set(a) | set(b), key=str):
        x, y = a.get(key), b.get(key)
        if isinstance(x, dict) and isinstance(y, dict):
            out += _differences(x, y, f"{prefix}{key}.")
        elif x != y:
            out.append(f"{prefix}{key}")
    return out


def _precision(cfg: TrainConfig, device: torch.device) -> torch.dtype | None:
    if cfg.train.precision == "bf16" or (cfg.train.precision == "auto" and device.type == "cuda"):
        return torch.bfloat16
    return None


def _rng_state() -> dict[str, Any]:
    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def _gather(obj: Any) -> list[Any]:
    """Every rank's `obj` on every rank (a one-element list alone)."""
    if not torch.distributed.is_initialized():
        return [obj]
    out: list[Any] = [None] * torch.distributed.get_world_size()
    torch.distributed.all_gather_object(out, obj)
    return out


def run(job: TrainRun) -> dict[str, Any]:
    """Train TripoSR on the renders in `job.data` into the run folder `job.out` (tk train's one entry point); the
    summary names the run folder and its last checkpoint folder.

    `job.max_steps` stops the run at that optimiser step; the lr schedule always spans the config's
    train.max_steps, so a run stopped early and resumed follows the same curve. With `job.init` (fine-tuning trained
    weights), a config given by name or file takes configs/train/finetune.yaml's lr, warmup and clip wherever it
    does not set them itself, as `tk train --init` does.

    It changes nothing in the process it runs in: CPU tuning (kept host memory, denormals flushed) is process-wide
    and applied by `tk train` at its start (tk.train.cpu_process.tune(), which a Python caller may call too), and a
    process group the caller created is left to the caller.
    """
    out = Path(job.out)
    dist = distributed.init()
    try:
        last = _train(job.config, str(job.data), out, job.max_steps, job.resume, job.init, job.init_dino, dist)
    finally:
        distributed.shutdown(dist)  # only a group init() created here
    return {"out": str(out), "checkpoint": str(last)}


def _train(config: Any, data: str, out: Path, max_steps: int | None, resume: bool, init: Any, init_dino: Any,
           dist: distributed.Dist) -> Path:
    cfg, last = _prepare_run(config, out, resume, dist.is_main, init)
    stop = max_steps or cfg.train.max_steps
    # one record per chunk (memory independent of the number of objects); data.max_objects: the first by uid hash
    index = ShardIndex(data, cfg.data.split, cfg.data.input_fovy_tolerance_deg, cfg.data.exclude_views,
                       keep_objects=False, max_objects=cfg.data.max_objects, reads=cfg.data.reads())
    model = build_model(cfg, init if last is None else None, init_dino if last is None else None, cfg.train.seed)
    model.to(dist.device)
    ema = EMA(model, cfg.optim.ema_decay) if cfg.optim.ema_decay > 0 else None
    net: torch.nn.Module = PatchRenderer(model)
    if dist.world_size > 1:
        net = torch.nn.parallel.DistributedDataParallel(net, device_ids=[dist.local_rank] if dist.device.type == "cuda" else None)
    opt = make_optimizer(model, cfg.optim)
    sched = make_scheduler(opt, cfg.optim, cfg.train.max_steps)
    if last is not None:
        step, batches, stream_items = _restore(last, model, opt, sched, ema, dist)
        if dist.is_main:
            truncate_metrics(out / "metrics.jsonl", step)
    else:
        step, batches, stream_items = 0, 0, None
        torch.manual_seed(cfg.train.seed + dist.rank)
    spec = SampleSpec(cfg.data, model.cfg.cond_image_size, cfg.train.seed, dist.rank, dist.world_size)
    framing_text = _framing(out, index, cfg, dist)
    loader = make_loader(index, spec, skip_batches=batches, stream_items=stream_items)
    loss_fn = TrainingLoss(cfg.loss).to(dist.device)
    log = RunLog(out) if dist.is_main else None
    saved, nan_streak = last, 0
    # remote reads tried again since the last metrics line (summed over ranks): this process's so far (index,
    # framing), then the loader's
    retries = float(index.retried)
    try:
        with progress() as bar:
            task = bar.add_task("train", total=stop, completed=step)
            while step < stop:
                t0 = time.perf_counter()
                finite, parts, last_batch = _accumulate(net, loader, loss_fn, cfg, dist)
                retries += parts.pop("read_retries")
                batches += cfg.optim.accum_steps
                what = "loss"
                if finite:
                    # A finite loss can still back-propagate inf/NaN (an overflowing exp in bf16, say); stepping on
                    # it would turn every weight into NaN. Gradients are all-reduced, so every rank sees the same norm.
                    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.optim.grad_clip or float("inf"))
                    finite, what = math.isfinite(float(grad_norm)), "gradient"
                if not finite:
                    opt.zero_grad(set_to_none=True)
                    nan_streak += 1
                    if log is not None:
                        log.scalars(step + 1, {"skipped": f"non-finite {what}", "streak": nan_streak})
                        bar.console.print(f"warning: non-finite {what} at step {step + 1}, step skipped ({nan_streak} in a row)")
                    if nan_streak >= cfg.train.nan_patience:
                        raise TkError(f"the loss or its gradient was non-finite {nan_streak} steps in a row (at step {step + 1}); "
                                      f"stopping. Lower optim.lr or check the data; resume from {saved or 'scratch'}")
                    continue
                nan_streak = 0
                opt.step()
                sched.step()
                opt.zero_grad(set_to_none=True)
                if ema is not None:
                    ema.update(model)
                step += 1
                bar.update(task, completed=step)
                if dist.is_main and not out.is_dir():  # deleted mid-run: stop rather than recreate it with half a run
                    raise StorageError(errno.ENOENT, out)
                if step % cfg.train.log_every == 0 or step == stop:
                    values = {k: distributed.all_mean(v, dist.device) for k, v in parts.items()}  # every rank joins
                    values["read_retries"] = round(distributed.all_mean(retries, dist.device) * dist.world_size)
                    retries = 0.0
                    if log is not None:
                        values.update(lr=sched.get_last_lr()[0], grad_norm=float(grad_norm),
                                      samples_per_s=cfg.data.batch_size * cfg.optim.accum_steps * dist.world_size
                                      / (time.perf_counter() - t0))
                        if dist.device.type == "cuda":  # peak GPU memory of this process so far (weights included)
                            values["gpu_peak_gib"] = torch.cuda.max_memory_allocated(dist.device) / 2**30
                        log.scalars(step, values)
                if log is not None and step % cfg.train.image_every == 0:
                    log.images(step, *last_batch)
                if step % cfg.train.checkpoint_every == 0 or step == stop:
                    saved = _save(out, step, model, opt, sched, batches, cfg, ema, dist, framing_text,
                                  loader.position()) or saved
    except BaseException:
        if log is not None:
            log.close(failed=True)  # the error in flight says what went wrong, not TensorBoard's last flush
        raise
    if log is not None:
        log.close()
    return saved if saved is not None else checkpoint.step_dir(out, step)


def _accumulate(net: torch.nn.Module, loader: Any, loss_fn: TrainingLoss, cfg: TrainConfig,
                dist: distributed.Dist) -> tuple[bool, dict[str, float], tuple[Any, torch.Tensor, torch.Tensor]]:
    """Forward and backward `accum_steps` batches; (all losses finite on every rank, mean parts, last batch)."""
    autocast = _precision(cfg, dist.device)
    ddp = isinstance(net, torch.nn.parallel.DistributedDataParallel)
    n = cfg.optim.accum_steps
    parts_sum: dict[str, float] = {}
    finite = True
    for micro in range(n):
        batch = next(loader)
        # Gradients are all-reduced only on the last micro-batch of a step.
        with (net.no_sync() if ddp and micro < n - 1 else contextlib.nullcontext()):
            with torch.autocast(dist.device.type, dtype=autocast or torch.float32, enabled=autocast is not None):
                pred = net(batch["input"].to(dist.device), batch["rays_o"].to(dist.device), batch["rays_d"].to(dist.device))
            shape = batch["rgb"].shape  # (B,V,P,P,3)
            rgb, opacity = pred["rgb"].reshape(shape), pred["opacity"].reshape(*shape[:-1], 1)
            log_t = pred["log_transmittance"].reshape(*shape[:-1], 1)
            loss, parts = loss_fn(rgb.flatten(0, 1), opacity.flatten(0, 1), batch["rgb"].to(dist.device).flatten(0, 1),
                                  batch["mask"].to(dist.device).flatten(0, 1), log_t.flatten(0, 1))
            # Backward even on a NaN: DDP expects every forward to be followed by one; the step is dropped later.
            (loss / n).backward()
        finite = finite and math.isfinite(float(loss.detach()))
        # inputs cut by the border: redrawn (another view of the object) or, with no uncut view, the object skipped
        parts["input_redraws"] = float(batch["input_redraws"].sum()) * n
        parts["inputs_skipped"] = float(batch["inputs_skipped"].sum()) * n
        parts["read_retries"] = float(batch["read_retries"].sum()) * n  # summed over micro-batches below
        for k, v in {**parts, "loss": float(loss.detach())}.items():
            parts_sum[k] = parts_sum.get(k, 0.0) + v / n
    # Every rank must agree to skip, or their optimiser steps would diverge.
    finite = distributed.all_mean(float(finite), dist.device) == 1.0
    return finite, parts_sum, (batch, rgb.detach(), opacity.detach())


def _restore(last: Path, model: torch.nn.Module, opt: Any, sched: Any, ema: EMA | None,
             dist: distributed.Dist) -> tuple[int, int, list[int] | None]:
    """Load a verified checkpoint into the model, optimiser, schedule, EMA and RNG; (step, batches consumed, plan items
    each loader stream used: None in checkpoints made before they were saved)."""
    from tk.model.checkpoint import read_state_dict

    checkpoint.verify(last)
    model.load_state_dict(read_state_dict(last / "model.safetensors"))
    state = checkpoint.load_state(last)
    if len(state["batches"]) != dist.world_size:
        raise TkError(f"{last} was written by {len(state['batches'])} process(es); resume with as many")
    opt.load_state_dict(state["optimizer"])
    sched.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"][dist.rank]["cpu"])
    if dist.device.type == "cuda" and "cuda" in state["rng"][dist.rank]:
        torch.cuda.set_rng_state(state["rng"][dist.rank]["cuda"], dist.device)
    if ema is not None and (ema_sd := checkpoint.load_ema(last)) is not None:
        ema.model.load_state_dict(ema_sd)
    items = state.get("stream_items")
    return int(state["step"]), int(state["batches"][dist.rank]), (list(items[dist.rank]) if items else None)


def _framing(out: Path, index: ShardIndex, cfg: TrainConfig, dist: distributed.Dist) -> str:
    """RUN/framing.json (measured once per run by rank 0, kept on resume): copied into every checkpoint."""
    import json

    from tk.train.data import input_framing

    path = out / FRAMING_FILE
    if dist.is_main and not path.is_file():
        record = input_framing(index, seed=cfg.train.seed)
        atomic.write_text(path, json.dumps(record, indent=2) + "\n")
        print(f"framing: training inputs fill {record['fill_p10']:.2f}-{record['fill_p90']:.2f} of the frame "
              f"(median {record['foreground_ratio']:.2f}); {record['touching_border']} of the measured candidates "
              "are cut by the border and never used as input")
    distributed.barrier()
    return path.read_text()


def _save(out: Path, step: int, model: torch.nn.Module, opt: Any, sched: Any, batches: int, cfg: TrainConfig,
          ema: EMA | None, dist: distributed.Dist, framing_text: str | None = None,
          stream_items: list[int] | None = None) -> Path | None:
    """Gather every rank's RNG state and data position; rank 0 writes the checkpoint folder."""
    positions = _gather(batches)
    items = _gather(stream_items)
    rngs = _gather(_rng_state())
    # A checksum of the weights per rank: DDP replicas must be identical, the checkpoint records it.
    checksums = _gather(float(sum(p.detach().double().sum() for p in model.parameters())))
    path = None
    if dist.is_main:
        if len(set(checksums)) > 1:
            raise TkError(f"the {len(checksums)} processes hold different weights at step {step}; "
                          "check that every rank runs the same config and tk version")
        state = {"step": step, "batches": positions, "stream_items": items, "rng": rngs, "optimizer": opt.state_dict(),
                 "scheduler": sched.state_dict(), "weight_checksums": checksums}

        path = checkpoint.save(out, step, model, state, cfg.train.keep_last, ema.model if ema is not None else None,
                               {FRAMING_FILE: framing_text} if framing_text else None)
    distributed.barrier()
    return path if dist.is_main else checkpoint.step_dir(out, step)
