"""Train: the VeerNet-style segmenter (PyTorch, optional ``train`` extra) and its ONNX export.

``veernet train --config engine/train_config.toml`` trains from synthetic logs generated on
the fly (seeds from ``train_seed`` upwards; validation uses seeds from ``VALIDATION_SEED``
upwards, never reached by training), then exports ONNX with metadata.  Reproducible from the
seed and the committed config (bit-exact on the same machine and library versions).
"""

from __future__ import annotations

import collections
import functools
import hashlib
import itertools
import json
import sys
import time
from collections.abc import Generator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from .segment import CLASSES

#: Validation logs use seeds from here on; training seeds stay below.
VALIDATION_SEED = 1_000_000

#: Training losses: "tversky" (recall-weighted, over the batch), "tversky_tile" (the same,
#: half of it per tile and class, so that a thin or short curve weighs as much in its
#: tile as a thick, long one), "dice" and "ce" (binary cross-entropy).
LOSSES = ("tversky", "tversky_tile", "dice", "ce")


#: Options added after models were trained and exported with the configs in engine/, with
#: their defaults.  At its default such an option is left out of the digest, so that a config
#: written before it existed keeps the digest its model's metadata records.
LATER_OPTIONS: dict[str, object] = {
    "swa_every": 0,
    "crossing_tiles": 0.0,
    "miss_tiles": 0.0,
    "teacher": "",
    "distill": 0.0,
}


@dataclass
class TrainConfig:
    seed: int = 0
    train_seed: int = 0
    tile: int = 256
    channels: tuple[int, ...] = (8, 16, 32, 64)
    attention: bool = True
    loss: str = "tversky"  # one of LOSSES
    tversky_alpha: float = 0.3  # weight of false positives
    tversky_beta: float = 0.7  # weight of false negatives: recall first
    lr: float = 3e-3
    batch: int = 16
    steps: int = 3000
    logs_per_shard: int = 24
    tiles_per_log: int = 24
    las_dir: str = "../shared/data/las"
    threads: int = 2
    workers: int = 0  # processes generating shards ahead of training (0: in-process)
    passes_per_shard: int = 1  # times each shard's tiles are visited before the next
    #: An exported segmenter (ONNX, same architecture) whose weights start the training:
    #: fine-tuning continues a model instead of starting from random weights.
    init: str = ""
    #: Stochastic weight averaging (Izmailov et al., 2018): with ``swa_every`` > 0 the
    #: learning rate warms up over the first tenth of the steps and then stays at ``lr``,
    #: and the weights every ``swa_every`` steps are averaged (``torch.optim.swa_utils``);
    #: the average is what is exported (the last weights go to ``segmenter_last.onnx``).
    #: 0: the one-cycle schedule, and the last weights are exported.
    swa_every: int = 0
    #: Share of each log's tiles centred on a crossing: a pixel on the paths of curves of
    #: two classes (where the class of a shared stroke is decided).  The other tiles are
    #: centred on a curve's path (80 %) or anywhere (20 %), as without it.
    crossing_tiles: float = 0.0
    #: Share of each log's tiles centred on a pixel of a curve's path that the ``init``
    #: model misses (its probability for the curve's class below the pipeline's mask
    #: threshold): the holes in the mask, where coverage is lost.  The other tiles are
    #: drawn as without it.  Needs ``init``; the model is run over each training log once.
    miss_tiles: float = 0.0
    #: Knowledge distillation (Hinton et al., 2015): an exported segmenter of any size, run
    #: beside the one being trained, whose probabilities are a second target.  The loss is
    #: ``(1 - distill)`` times the loss against the labels plus ``distill`` times the same
    #: loss against the teacher's probabilities, so a small model learns where a big one
    #: is confident and where it is not (what the labels, all 0 or 1, cannot say).
    teacher: str = ""
    distill: float = 0.0

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        data = tomllib.loads(Path(path).read_text())
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}")
        if "channels" in data:
            data["channels"] = tuple(data["channels"])
        return cls(**data)

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"loss {self.loss!r} is not known (choose one of {', '.join(LOSSES)})")
        if not 0 <= self.swa_every <= self.steps:
            raise ValueError(f"swa_every must be in [0, steps], got {self.swa_every}")
        if not 0.0 <= self.crossing_tiles <= 1.0:
            raise ValueError(f"crossing_tiles must be in [0, 1], got {self.crossing_tiles}")
        if not 0.0 <= self.miss_tiles <= 1.0:
            raise ValueError(f"miss_tiles must be in [0, 1], got {self.miss_tiles}")
        if self.miss_tiles and not self.init:
            raise ValueError("miss_tiles needs an init model, whose holes it samples")
        if not 0.0 <= self.distill <= 1.0:
            raise ValueError(f"distill must be in [0, 1], got {self.distill}")
        if bool(self.distill) != bool(self.teacher):
            raise ValueError("distill and teacher go together: set both or neither")

    def digest(self) -> str:
        values = {
            k: v
            for k, v in asdict(self).items()
            if not (k in LATER_OPTIONS and v == LATER_OPTIONS[k])
        }
        return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]


def build_model(cfg: TrainConfig) -> Any:
    import torch
    from torch import nn

    def block(cin: int, cout: int) -> nn.Module:
        g = max(1, cout // 8)
        return nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False),
            nn.GroupNorm(g, cout),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False),
            nn.GroupNorm(g, cout),
            nn.ReLU(inplace=True),
        )

    class Attention(nn.Module):
        """Single-head self-attention over the bottleneck positions (global context)."""

        def __init__(self, c: int):
            super().__init__()
            self.qkv = nn.Conv2d(c, 3 * c, 1)
            self.out = nn.Conv2d(c, c, 1)
            self.scale = c**-0.5

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            n, c, h, w = x.shape
            q, k, v = self.qkv(x).reshape(n, 3, c, h * w).unbind(1)
            a = torch.softmax(torch.einsum("ncq,nck->nqk", q, k) * self.scale, dim=-1)
            y = torch.einsum("nqk,nck->ncq", a, v).reshape(n, c, h, w)
            return x + self.out(y)

    class UNet(nn.Module):
        def __init__(self, ch: tuple[int, ...], attention: bool):
            super().__init__()
            self.enc = nn.ModuleList()
            cin = 1
            for c in ch:
                self.enc.append(block(cin, c))
                cin = c
            self.att = Attention(ch[-1]) if attention else nn.Identity()
            self.up = nn.ModuleList()
            self.dec = nn.ModuleList()
            for c_hi, c_lo in zip(ch[-2::-1], ch[:0:-1], strict=True):
                self.up.append(nn.ConvTranspose2d(c_lo, c_hi, 2, stride=2))
                self.dec.append(block(2 * c_hi, c_hi))
            self.head = nn.Conv2d(ch[0], len(CLASSES) - 1, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            # input: grey in [0, 1], 1 = paper; the network sees ink as positive
            h = 1.0 - x
            skips = []
            for i, enc in enumerate(self.enc):
                h = enc(h)
                if i < len(self.enc) - 1:
                    skips.append(h)
                    h = nn.functional.max_pool2d(h, 2)
            h = self.att(h)
            for up, dec, skip in zip(self.up, self.dec, reversed(skips), strict=True):
                h = dec(torch.cat([up(h), skip], dim=1))
            return self.head(h)  # logits of solid, dashed, dotted (multi-label)

    return UNet(cfg.channels, cfg.attention)


def _tiles_from_log(
    log: Any,
    rng: np.random.Generator,
    tile: int,
    n: int,
    crossing_tiles: float = 0.0,
    misses: npt.NDArray[np.intp] | None = None,
    miss_tiles: float = 0.0,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """``n`` tiles of ``log`` and their labels (see ``TrainConfig.crossing_tiles``; with
    ``miss_tiles``, that share is centred on the (row, col) pixels of ``misses``)."""
    img = log.image
    h, w = img.shape
    labels = np.zeros((len(CLASSES) - 1, h, w), np.float32)
    for i, style in enumerate(CLASSES[1:]):
        if style in log.paths:
            m = log.paths[style]
            labels[i, : m.shape[0], : m.shape[1]] = m[:h, :w]
    xs, ys = [], []
    ink = np.argwhere(labels.any(axis=0))
    # Without crossing_tiles nothing more is drawn from rng: older configs get their tiles.
    crossings = np.argwhere(labels.sum(axis=0) >= 2) if crossing_tiles else ink[:0]
    for _ in range(n):
        centres = None
        # Drawn only with miss_tiles, so that older configs get their tiles.
        u = rng.random() if miss_tiles else 1.0
        if misses is not None and len(misses) and u < miss_tiles:
            centres = misses
        elif len(crossings) and rng.random() < crossing_tiles:
            centres = crossings
        elif len(ink) and rng.random() < 0.8:
            centres = ink
        if centres is not None:
            cy, cx = centres[int(rng.integers(len(centres)))]
            r = int(np.clip(cy - rng.integers(0, tile), 0, max(0, h - tile)))
            c = int(np.clip(cx - rng.integers(0, tile), 0, max(0, w - tile)))
        else:
            r = int(rng.integers(0, max(1, h - tile + 1)))
            c = int(rng.integers(0, max(1, w - tile + 1)))
        x = np.full((tile, tile), 255, np.uint8)
        y = np.zeros((len(CLASSES) - 1, tile, tile), np.float32)
        patch = img[r : r + tile, c : c + tile]
        x[: patch.shape[0], : patch.shape[1]] = patch
        y[:, : patch.shape[0], : patch.shape[1]] = labels[:, r : r + tile, c : c + tile]
        xs.append(x.astype(np.float32) / 255.0)
        ys.append(y)
    return np.stack(xs)[:, None], np.stack(ys)


def make_shard(
    cfg: TrainConfig, shard: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Tiles and labels of ``logs_per_shard`` generated logs (training seeds only)."""
    from .synth import generate

    rng = np.random.default_rng([cfg.seed, shard])
    xs, ys = [], []
    for i in range(cfg.logs_per_shard):
        seed = cfg.train_seed + shard * cfg.logs_per_shard + i
        if seed >= VALIDATION_SEED:
            raise ValueError("training would reach the validation seeds")
        las_dir = cfg.las_dir if Path(cfg.las_dir).is_dir() else None
        log = generate(seed, las_dir=las_dir)
        misses = _missed_path(log, cfg) if cfg.miss_tiles else None
        x, y = _tiles_from_log(
            log, rng, cfg.tile, cfg.tiles_per_log, cfg.crossing_tiles, misses, cfg.miss_tiles
        )
        xs.append(x)
        ys.append(y)
    return np.concatenate(xs), np.concatenate(ys)


@functools.lru_cache(maxsize=1)
def _mining_segmenter(path: str, threads: int) -> Any:
    from .segment import OnnxSegmenter

    return OnnxSegmenter(path, threads=threads)


def _missed_path(log: Any, cfg: TrainConfig) -> npt.NDArray[np.intp]:
    """(row, col) of the path pixels of ``log`` that the ``init`` model leaves out of its
    masks at the pipeline's thresholds (see ``TrainConfig.miss_tiles``)."""
    from .pipeline import class_threshold
    from .segment import segment_region

    seg = _mining_segmenter(cfg.init, cfg.threads)
    h, w = log.image.shape
    styles = [s for s in CLASSES[1:] if s in log.paths]
    if not styles:
        return np.zeros((0, 2), np.intp)
    keep = [seg.classes.index(s) for s in styles]
    probs = segment_region(log.image, (0, h), (0, w), seg, keep=keep)
    missed = np.zeros((h, w), bool)
    for i, style in enumerate(styles):
        path = log.paths[style][:h, :w]
        below = probs[i, : path.shape[0], : path.shape[1]] < class_threshold(style)
        missed[: path.shape[0], : path.shape[1]] |= path.astype(bool) & below
    return np.argwhere(missed)


def _shard_job(
    args: tuple[TrainConfig, int],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    return make_shard(*args)


def _shard_stream(
    cfg: TrainConfig,
) -> Generator[tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]], None, None]:
    """Shards 0, 1, 2, ... in order; with ``workers``, generated ahead in processes."""
    if cfg.workers <= 0:
        shard = 0
        while True:
            yield make_shard(cfg, shard)
            shard += 1
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    with ctx.Pool(cfg.workers) as pool:
        # A bounded window of shards in flight: results are taken in order.
        pending: collections.deque[Any] = collections.deque()
        counter = itertools.count()
        for _ in range(2 * cfg.workers):
            pending.append(pool.apply_async(_shard_job, ((cfg, next(counter)),)))
        while True:
            result = pending.popleft().get()
            pending.append(pool.apply_async(_shard_job, ((cfg, next(counter)),)))
            yield result


def loss_fn(cfg: TrainConfig, logits: Any, target: Any) -> Any:
    import torch

    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
    if cfg.loss == "ce":
        return bce
    p = torch.sigmoid(logits)
    a, b = (0.5, 0.5) if cfg.loss == "dice" else (cfg.tversky_alpha, cfg.tversky_beta)

    def tversky(dims: tuple[int, ...]) -> Any:
        tp = (p * target).sum(dims)
        fp = (p * (1 - target)).sum(dims)
        fn = ((1 - p) * target).sum(dims)
        return (tp + 1.0) / (tp + a * fp + b * fn + 1.0)

    loss = (1 - tversky((0, 2, 3))).mean()
    if cfg.loss == "tversky_tile":
        # Per tile and class, over the pairs where the class is drawn: a curve's share of
        # the loss no longer grows with its pixel count.  Absent classes are left to the
        # batch term, which keeps false positives in check.
        present = target.sum((2, 3)) > 0
        if bool(present.any()):
            loss = 0.5 * loss + 0.5 * (1 - tversky((2, 3))[present]).mean()
    # a little cross-entropy keeps the background calibrated
    return loss + 0.1 * bce


def train(
    cfg: TrainConfig,
    out_dir: str | Path,
    *,
    device: str = "auto",
    log: Any = print,
    time_limit: float | None = None,
) -> dict[str, Any]:
    """Train, export ``segmenter.onnx`` and ``training.json`` into ``out_dir``.

    ``time_limit`` (seconds) stops early but still exports; ``training.json`` records the
    steps actually taken.
    """
    import torch

    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    dev = torch.device(
        "cuda" if device in ("auto", "cuda") and torch.cuda.is_available() else "cpu"
    )
    model = build_model(cfg)
    if cfg.init:
        load_onnx_weights(model, cfg, cfg.init)
    model = model.to(dev)
    teacher = None
    if cfg.teacher:
        teacher = load_exported(cfg.teacher).eval().to(dev)
        for param in teacher.parameters():
            param.requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=1e-4)
    averaged = None
    if cfg.swa_every:
        warmup = max(1, cfg.steps // 10)
        sched: Any = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min(1.0, 0.1 + 0.9 * s / warmup)
        )
        averaged = torch.optim.swa_utils.AveragedModel(model)
    else:
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=cfg.lr, total_steps=cfg.steps, pct_start=0.1
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    shards = _shard_stream(cfg)
    shard, pos, visits = 0, 0, 0
    x_all, y_all = next(shards)
    perm = np.random.default_rng([cfg.seed, 7]).permutation(len(x_all))
    history = []
    steps_done = 0
    for step in range(cfg.steps):
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            log(f"time limit of {time_limit:.0f} s reached after {step} steps: exporting")
            break
        steps_done = step + 1
        if pos + cfg.batch > len(perm):
            visits += 1
            if visits >= cfg.passes_per_shard:
                shard += 1
                visits = 0
                x_all, y_all = next(shards)
            perm = np.random.default_rng([cfg.seed, 7, shard, visits]).permutation(len(x_all))
            pos = 0
        idx = perm[pos : pos + cfg.batch]
        pos += cfg.batch
        x = torch.from_numpy(x_all[idx]).to(dev)
        y = torch.from_numpy(y_all[idx]).to(dev)
        logits = model(x)
        loss = loss_fn(cfg, logits, y)
        if teacher is not None:
            with torch.no_grad():
                soft = torch.sigmoid(teacher(x))
            loss = (1 - cfg.distill) * loss + cfg.distill * loss_fn(cfg, logits, soft)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if averaged is not None and steps_done % cfg.swa_every == 0:
            averaged.update_parameters(model)
        if step % 50 == 0 or step == cfg.steps - 1:
            history.append((step, float(loss.detach())))
            log(
                f"step {step:5d}  loss {float(loss.detach()):.4f}  shard {shard}  {time.perf_counter() - t0:7.1f} s"
            )
    shards.close()
    seconds = time.perf_counter() - t0
    model.eval().cpu()
    snapshots = 0 if averaged is None else int(averaged.n_averaged)
    if averaged is not None and snapshots:
        export_onnx(model, cfg, out / "segmenter_last.onnx")
        model = averaged.module.eval().cpu()
    export_onnx(model, cfg, out / "segmenter.onnx")
    info = {
        "config": asdict(cfg),
        "config_digest": cfg.digest(),
        "train_seconds": seconds,
        "device": str(dev),
        "torch": torch.__version__,
        "shards": shard + 1,
        "history": history,
        "steps_done": steps_done,
        "parameters": sum(p.numel() for p in model.parameters()),
        "swa_snapshots": snapshots,
    }
    for key in ("init", "teacher"):
        if getattr(cfg, key):
            info[f"{key}_sha256"] = hashlib.sha256(Path(getattr(cfg, key)).read_bytes()).hexdigest()
    (out / "training.json").write_text(json.dumps(info, indent=2))
    return info


def load_onnx_weights(model: Any, cfg: TrainConfig, path: str | Path) -> None:
    """Copy the weights of an exported segmenter into ``model`` (same architecture).

    Named initializers map to parameters directly.  The exporter folds each GroupNorm's
    affine weight and bias into anonymous Mul/Add constants, which appear in the order the
    GroupNorm layers run; they are matched in that order.  The result is checked: the
    model must reproduce the ONNX model's probabilities on a test input, or this raises.
    """
    import onnx
    import onnxruntime as ort
    import torch
    from onnx import numpy_helper

    m = onnx.load(str(path))
    named, anonymous = {}, []
    for init in m.graph.initializer:
        value = numpy_helper.to_array(init)
        if init.name.startswith("net."):
            named[init.name.removeprefix("net.")] = value
        elif init.name.startswith("onnx::Mul_") or init.name.startswith("onnx::Add_"):
            anonymous.append(value)
    norms = [mod for mod in model.modules() if isinstance(mod, torch.nn.GroupNorm)]
    if len(anonymous) != 2 * len(norms):
        raise ValueError(
            f"{path}: {len(anonymous) // 2} normalisation layers, the model has {len(norms)}"
        )
    state = model.state_dict()
    with torch.no_grad():
        for name, value in named.items():
            if name not in state or tuple(state[name].shape) != value.shape:
                raise ValueError(f"{path}: {name} {value.shape} does not fit the configured model")
            state[name].copy_(torch.from_numpy(np.array(value)))
        for i, norm in enumerate(norms):
            norm.weight.copy_(torch.from_numpy(np.array(anonymous[2 * i]).reshape(-1)))
            norm.bias.copy_(torch.from_numpy(np.array(anonymous[2 * i + 1]).reshape(-1)))
    x = np.random.default_rng(0).random((1, 1, cfg.tile, cfg.tile), dtype=np.float32)
    ours = torch.sigmoid(model.eval()(torch.from_numpy(x))).detach().numpy()
    theirs = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"image": x}
    )[0]
    err = float(np.max(np.abs(ours - theirs[:, 1:])))
    if err > 1e-3:
        raise ValueError(f"{path}: weights loaded but the outputs differ by {err:.2g}")
    model.train()


def exported_architecture(path: str | Path) -> TrainConfig:
    """A config with the tile, encoder channels and attention of an exported segmenter, read
    from the ONNX file itself (the other fields keep their defaults)."""
    import onnx

    m = onnx.load(str(path))
    shapes = {init.name: tuple(init.dims) for init in m.graph.initializer}
    channels: list[int] = []
    while (conv := shapes.get(f"net.enc.{len(channels)}.0.weight")) is not None:
        channels.append(int(conv[0]))
    meta = {p.key: p.value for p in m.metadata_props}
    if not channels or "veernet.tile" not in meta:
        raise ValueError(f"{path}: not a segmenter exported by veernet train")
    return TrainConfig(
        tile=int(meta["veernet.tile"]),
        channels=tuple(channels),
        attention="net.att.qkv.weight" in shapes,
    )


def load_exported(path: str | Path) -> Any:
    """The PyTorch model of an exported segmenter, its architecture read from the file and
    its weights checked against ONNX Runtime (see :func:`load_onnx_weights`)."""
    cfg = exported_architecture(path)
    model = build_model(cfg)
    load_onnx_weights(model, cfg, path)
    return model


def export_onnx(model: Any, cfg: TrainConfig, path: str | Path) -> None:
    """ONNX (opset 17, dynamic batch, tile a multiple of 32) with class probabilities out."""
    import onnx
    import torch

    class WithProbabilities(torch.nn.Module):
        def __init__(self, net: torch.nn.Module):
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            p = torch.sigmoid(self.net(x))
            background = 1.0 - p.amax(dim=1, keepdim=True)
            return torch.cat([background, p], dim=1)

    wrapped = WithProbabilities(model).eval()
    dummy = torch.ones(1, 1, cfg.tile, cfg.tile)
    torch.onnx.export(
        wrapped,
        (dummy,),
        str(path),
        input_names=["image"],
        output_names=["probabilities"],
        dynamic_axes={"image": {0: "batch"}, "probabilities": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    m = onnx.load(str(path))
    meta = {
        "veernet.classes": json.dumps(list(CLASSES)),
        "veernet.tile": str(cfg.tile),
        "veernet.input": "grey in [0, 1] (0 = black ink, 1 = paper), shape (N, 1, tile, tile)",
        "veernet.output": "per-class probabilities (N, 4, tile, tile): background, solid, dashed, dotted; curve classes are independent (multi-label)",
        "veernet.train_config_digest": cfg.digest(),
    }
    for k, v in meta.items():
        entry = m.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.save(m, str(path))


def average_models(sources: list[str | Path], out: str | Path) -> None:
    """Average the weights of exported segmenters of one architecture into ``out``.

    The ends of successive fine-tuning runs (each a warm-up and a decay of the learning
    rate) lie around one minimum; their average lies nearer its centre and usually
    generalises better than any of them (stochastic weight averaging over cycles,
    Izmailov et al. 2018).  Every floating-point initializer is averaged, so the
    GroupNorm affine terms that the export folds into Mul/Add constants are averaged with
    the rest (they are linear in the parameters).  The graph and metadata are the first
    source's; ``veernet.averaged_from`` lists each source's file name and SHA-256, and
    ``veernet.train_config_digest`` the sources' digests joined by ``+``.
    """
    import onnx
    from onnx import numpy_helper

    if len(sources) < 2:
        raise ValueError("averaging needs at least two models")
    models, metas, records = [], [], []
    for src in sources:
        data = Path(src).read_bytes()  # read once: parsed and hashed
        try:
            models.append(onnx.load_from_string(data))
        except Exception as exc:  # onnx raises protobuf's own errors for corrupt files
            raise ValueError(f"{src}: not a readable ONNX model ({exc})") from None
        metas.append({p.key: p.value for p in models[-1].metadata_props})
        records.append(
            {
                "file": Path(src).name,
                "sha256": hashlib.sha256(data).hexdigest(),
                "train_config_digest": metas[-1].get("veernet.train_config_digest", ""),
            }
        )
    base = models[0]

    def layout(m: Any) -> list[tuple[str, tuple[int, ...], int]]:
        return [(t.name, tuple(t.dims), t.data_type) for t in m.graph.initializer]

    for src, m, meta in zip(sources[1:], models[1:], metas[1:], strict=True):
        same = (
            layout(m) == layout(base)
            and [n.op_type for n in m.graph.node] == [n.op_type for n in base.graph.node]
            and all(meta.get(k) == metas[0].get(k) for k in ("veernet.classes", "veernet.tile"))
        )
        if not same:
            raise ValueError(f"{src}: not the same architecture as {sources[0]}")
    weights = [{t.name: numpy_helper.to_array(t) for t in m.graph.initializer} for m in models]
    for t in base.graph.initializer:
        arrays = [w[t.name] for w in weights]
        if arrays[0].dtype.kind == "f":
            mean = np.mean(np.stack(arrays), axis=0, dtype=np.float64).astype(arrays[0].dtype)
            t.CopyFrom(numpy_helper.from_array(mean, t.name))
        elif not all(np.array_equal(a, arrays[0]) for a in arrays):
            raise ValueError(f"{t.name}: integer constant differs between the models")
    props = dict(metas[0])
    props["veernet.train_config_digest"] = "+".join(r["train_config_digest"] for r in records)
    props["veernet.averaged_from"] = json.dumps(records)
    del base.metadata_props[:]
    for k, v in props.items():
        entry = base.metadata_props.add()
        entry.key, entry.value = k, v
    from .io import atomic_writer

    with atomic_writer(out, "wb") as fh:
        fh.write(base.SerializeToString())


def main_train(cfg: TrainConfig, out: str, device: str = "auto") -> int:
    import os

    limit = os.environ.get("VEERNET_TRAIN_TIME_LIMIT")
    info = train(cfg, out, device=device, time_limit=float(limit) if limit else None)
    print(
        f"trained {info['parameters']} parameters in {info['train_seconds']:.0f} s on {info['device']}; wrote {out}/segmenter.onnx"
    )
    return 0
