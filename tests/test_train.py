import json

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs the train extra (torch)")


def test_training_smoke_run_exports_a_usable_onnx_model(tmp_path):
    from veernet.segment import OnnxSegmenter
    from veernet.train import VALIDATION_SEED, TrainConfig, loss_fn, train

    cfg = TrainConfig(
        seed=3,
        tile=64,
        channels=(4, 8),
        steps=3,
        batch=2,
        logs_per_shard=1,
        tiles_per_log=4,
        las_dir="nowhere",
        threads=1,
    )
    info = train(cfg, tmp_path, device="cpu", log=lambda *_: None)
    assert info["steps_done"] == 3 and (tmp_path / "training.json").exists()
    assert json.loads((tmp_path / "training.json").read_text())["config_digest"] == cfg.digest()
    seg = OnnxSegmenter(tmp_path / "segmenter.onnx")
    assert seg.tile == 64 and seg.classes[0] == "background"
    out = seg.predict(np.ones((2, 1, 64, 64), np.float32))
    assert out.shape == (2, 4, 64, 64)
    # the losses: recall-weighted Tversky punishes a missed curve more than a false one
    target = torch.zeros(1, 3, 8, 8)
    target[0, 0, :, 3] = 1
    miss = torch.full((1, 3, 8, 8), -6.0)
    extra = torch.full((1, 3, 8, 8), -6.0)
    extra[0, 0, :, 3] = 6.0
    extra[0, 0, :, 4] = 6.0
    assert float(loss_fn(cfg, miss, target)) > float(loss_fn(cfg, extra, target))
    assert VALIDATION_SEED > cfg.train_seed + 10 * cfg.logs_per_shard


def test_per_tile_tversky_gives_a_thin_curve_more_weight():
    from dataclasses import replace

    from veernet.train import TrainConfig, loss_fn

    batch = TrainConfig(loss="tversky")
    tile = replace(batch, loss="tversky_tile")
    # one class, two tiles: a thick stroke in tile 0, a one-pixel one in tile 1
    target = torch.zeros(2, 3, 16, 16)
    target[0, 2, :, 2:10] = 1
    target[1, 2, :, 5] = 1
    found = torch.where(target > 0, 6.0, -6.0)
    thin_missed, thick_missed = found.clone(), found.clone()
    thin_missed[1, 2, :, 5] = -6.0
    thick_missed[0, 2, :, 2:10] = -6.0

    def cost(cfg: TrainConfig, logits: torch.Tensor) -> float:
        return float(loss_fn(cfg, logits, target)) - float(loss_fn(cfg, found, target))

    # over the batch, missing the thin stroke costs an eighth of missing the thick one at
    # most; per tile, it costs several times more than that share
    assert 0 < cost(batch, thin_missed) < cost(batch, thick_missed) / 8
    ratio = cost(tile, thin_missed) / cost(tile, thick_missed)
    assert ratio > 3 * cost(batch, thin_missed) / cost(batch, thick_missed)
    # a batch without any curve falls back to the batch term
    empty = torch.zeros(1, 3, 16, 16)
    assert float(loss_fn(tile, found[:1], empty)) == float(loss_fn(batch, found[:1], empty))
    with pytest.raises(ValueError, match="not known"):
        TrainConfig(loss="focal")


def test_a_bad_training_config_is_a_clear_error(tmp_path, capsys):
    from veernet.cli import main

    for name, text, problem in (
        ("loss.toml", 'loss = "focal"\n', "loss 'focal' is not known"),
        ("key.toml", "stpes = 10\n", "unknown keys ['stpes']"),
        ("syntax.toml", "steps = = 10\n", ""),
    ):
        config = tmp_path / name
        config.write_text(text)
        assert main(["train", "--config", str(config), "--out", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err
        assert f"{config}: {problem}" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
    assert main(["train", "--config", str(tmp_path / "missing.toml"), "--out", "x"]) == 2
    assert "missing.toml" in capsys.readouterr().err


def test_fine_tuning_starts_from_the_exported_weights(tmp_path):
    from dataclasses import replace

    from veernet.train import TrainConfig, build_model, load_onnx_weights, train

    cfg = TrainConfig(
        seed=4, tile=64, channels=(4, 8), steps=2, batch=2, logs_per_shard=1,
        tiles_per_log=2, las_dir="nowhere", threads=1,
    )  # fmt: skip
    train(cfg, tmp_path / "a", device="cpu", log=lambda *_: None)
    first = tmp_path / "a" / "segmenter.onnx"
    model = build_model(cfg)
    load_onnx_weights(model, cfg, first)  # checks its own outputs against ONNX Runtime
    # a different architecture is refused, naming the file
    with pytest.raises(ValueError, match="segmenter.onnx"):
        load_onnx_weights(build_model(replace(cfg, channels=(4, 16))), cfg, first)
    # a fine-tuning run starts where the first one ended
    info = train(
        replace(cfg, init=str(first), lr=1e-9), tmp_path / "b", device="cpu", log=lambda *_: None
    )
    assert info["steps_done"] == 2
    x = np.random.default_rng(1).random((1, 1, 64, 64), dtype=np.float32)
    from veernet.segment import OnnxSegmenter

    a = OnnxSegmenter(first).predict(x)
    b = OnnxSegmenter(tmp_path / "b" / "segmenter.onnx").predict(x)
    np.testing.assert_allclose(a, b, atol=1e-3)


def test_averaged_model_has_the_mean_weights_of_its_sources(tmp_path):
    import onnx

    from veernet.cli import main
    from veernet.train import TrainConfig, average_models, build_model, load_onnx_weights, train

    base = dict(tile=64, channels=(4, 8), steps=2, batch=2, logs_per_shard=1, tiles_per_log=2)
    cfgs = [TrainConfig(seed=s, las_dir="nowhere", threads=1, **base) for s in (5, 6)]
    sources = []
    for cfg in cfgs:
        train(cfg, tmp_path / str(cfg.seed), device="cpu", log=lambda *_: None)
        sources.append(tmp_path / str(cfg.seed) / "segmenter.onnx")
    out = tmp_path / "mean.onnx"
    assert main(["average-models", str(out), *map(str, sources)]) == 0
    models = []
    for path in [*sources, out]:
        model = build_model(cfgs[0])
        load_onnx_weights(model, cfgs[0], path)  # checks torch against ONNX Runtime
        models.append(dict(model.named_parameters()))
    for name, p in models[2].items():
        mean = (models[0][name] + models[1][name]) / 2
        torch.testing.assert_close(p, mean, rtol=1e-5, atol=1e-6, msg=name)
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert meta["veernet.train_config_digest"] == "+".join(c.digest() for c in cfgs)
    assert [r["file"] for r in json.loads(meta["veernet.averaged_from"])] == ["segmenter.onnx"] * 2
    # another architecture, a corrupt file: refused, naming the file, nothing written
    other = TrainConfig(seed=7, las_dir="nowhere", threads=1, **{**base, "channels": (4, 16)})
    train(other, tmp_path / "other", device="cpu", log=lambda *_: None)
    with pytest.raises(ValueError, match="not the same architecture"):
        average_models([sources[0], tmp_path / "other" / "segmenter.onnx"], tmp_path / "x.onnx")
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    bad = [str(tmp_path / "y.onnx"), str(sources[0]), str(tmp_path / "bad.onnx")]
    assert main(["average-models", *bad]) == 2
    assert not (tmp_path / "x.onnx").exists() and not (tmp_path / "y.onnx").exists()


def test_weight_averaging_exports_the_mean_of_its_snapshots(tmp_path):
    from dataclasses import replace

    from veernet.train import TrainConfig, build_model, load_onnx_weights, train

    cfg = TrainConfig(
        seed=8, tile=64, channels=(4, 8), steps=4, batch=2, logs_per_shard=1,
        tiles_per_log=2, las_dir="nowhere", threads=1, swa_every=2, lr=1e-2,
    )  # fmt: skip
    # The same run stopped at step 2 holds the first snapshot as its last weights (the
    # warm-up, the data and the seed are the same for the first two steps).
    half = train(replace(cfg, steps=2), tmp_path / "half", device="cpu", log=lambda *_: None)
    full = train(cfg, tmp_path / "full", device="cpu", log=lambda *_: None)
    assert (half["swa_snapshots"], full["swa_snapshots"]) == (1, 2)

    def weights(path):
        model = build_model(cfg)
        load_onnx_weights(model, cfg, path)  # checks torch against ONNX Runtime
        return dict(model.named_parameters())

    first = weights(tmp_path / "half" / "segmenter_last.onnx")
    second = weights(tmp_path / "full" / "segmenter_last.onnx")
    mean = weights(tmp_path / "full" / "segmenter.onnx")
    moved = 0
    for name, p in mean.items():
        torch.testing.assert_close(p, (first[name] + second[name]) / 2, rtol=1e-4, atol=1e-5)
        moved += int(not torch.allclose(first[name], second[name]))
    assert moved > 0  # the snapshots differ, so the mean is not either of them
    # without averaging: the one-cycle schedule and the last weights, as before
    plain = train(replace(cfg, swa_every=0), tmp_path / "plain", device="cpu", log=lambda *_: None)
    assert plain["swa_snapshots"] == 0 and not (tmp_path / "plain" / "segmenter_last.onnx").exists()
    with pytest.raises(ValueError, match="swa_every"):
        replace(cfg, swa_every=5)


def test_configs_keep_the_digest_their_models_record():
    """An option added after a model was trained is left out of the digest at its default,
    so each committed config still matches the digest in its model's metadata."""
    from dataclasses import replace
    from pathlib import Path

    import onnxruntime as ort

    from veernet.train import LATER_OPTIONS, TrainConfig

    engine = Path(__file__).resolve().parents[1] / "engine"
    pairs = [(f"segmenter_cpu_step{n}.onnx", f"finetune_cpu_step{n}.toml") for n in (1, 2, 3, 4)]
    pairs.append(("segmenter.onnx", "finetune_cpu_cross2.toml"))  # the shipped model
    for model, config in pairs:
        session = ort.InferenceSession(str(engine / model), providers=["CPUExecutionProvider"])
        recorded = session.get_modelmeta().custom_metadata_map["veernet.train_config_digest"]
        assert TrainConfig.load(engine / config).digest() == recorded, model
    base = TrainConfig(init="model.onnx")
    for name, default in LATER_OPTIONS.items():
        assert getattr(base, name) == default
    changes = [{"swa_every": 1}, {"crossing_tiles": 0.5}, {"miss_tiles": 0.5}]
    changes.append({"teacher": "big.onnx", "distill": 0.5})  # these two go together
    for change in changes:
        assert replace(base, **change).digest() != base.digest()


def test_crossing_tiles_are_centred_on_two_classes():
    from conftest import LAS_DIR

    from veernet.synth import generate
    from veernet.train import _tiles_from_log

    log = generate(200_007, las_dir=LAS_DIR)  # a training log whose curves cross
    _, labels = _tiles_from_log(log, np.random.default_rng(1), 64, 16, crossing_tiles=1.0)
    assert all((y.sum(axis=0) >= 2).any() for y in labels)
    _, plain = _tiles_from_log(log, np.random.default_rng(1), 64, 16)
    assert sum((y.sum(axis=0) >= 2).any() for y in plain) < 8
    with pytest.raises(ValueError, match="crossing_tiles"):
        from veernet.train import TrainConfig

        TrainConfig(crossing_tiles=1.5)


def test_miss_tiles_are_centred_on_the_holes_of_the_init_model():
    """The hard-example tiles sit on path pixels the init model leaves out of its masks,
    and they are exactly the pixels below the pipeline's thresholds."""
    from conftest import LAS_DIR

    from veernet.pipeline import CLASS_THRESHOLDS, DEFAULT_THRESHOLD
    from veernet.segment import OnnxSegmenter, default_model_path, segment_region
    from veernet.synth import generate
    from veernet.train import TrainConfig, _missed_path, _tiles_from_log

    log = generate(200_007, las_dir=LAS_DIR)
    cfg = TrainConfig(init=str(default_model_path()), miss_tiles=1.0, threads=1)
    misses = _missed_path(log, cfg)
    assert len(misses) > 0
    # the reference: every class over the whole log, thresholded pixel by pixel
    seg = OnnxSegmenter(threads=1)
    h, w = log.image.shape
    probs = segment_region(log.image, (0, h), (0, w), seg)
    expected = np.zeros((h, w), bool)
    for style, path in log.paths.items():
        p = probs[seg.classes.index(style)][: path.shape[0], : path.shape[1]]
        below = p < CLASS_THRESHOLDS.get(style, DEFAULT_THRESHOLD)
        expected[: path.shape[0], : path.shape[1]] |= path.astype(bool) & below
    assert np.array_equal(np.argwhere(expected), misses)
    # with one missed pixel, every tile is a window of the log that holds it
    pr, pc = misses[len(misses) // 2]
    tiles, _ = _tiles_from_log(
        log, np.random.default_rng(1), 64, 8, misses=misses[[len(misses) // 2]], miss_tiles=1.0
    )
    holding = [
        log.image[r : r + 64, c : c + 64]
        for r in range(max(0, pr - 63), min(pr, h - 64) + 1)
        for c in range(max(0, pc - 63), min(pc, w - 64) + 1)
    ]
    for x in tiles[:, 0]:
        tile = np.round(x * 255).astype(np.uint8)
        assert any(np.array_equal(tile, win) for win in holding)
    with pytest.raises(ValueError, match="miss_tiles needs an init model"):
        TrainConfig(miss_tiles=0.3)
    with pytest.raises(ValueError, match="miss_tiles"):
        TrainConfig(init="m.onnx", miss_tiles=1.5)


def _embed(small, big, rng):
    """Write ``small`` into ``big`` (same design, wider) at random places, so that ``big``
    computes what ``small`` computes: every channel it has beyond ``small``'s is zero after
    its normalisation (whole GroupNorm groups with zero scale and shift) or has zero
    weights, and the queries are scaled so the attention's logits are the same."""
    s, b = small.state_dict(), big.state_dict()

    def groups(n_small, n_big):  # whole groups of 8 at random places, in order
        picks = np.sort(rng.choice(n_big // 8, n_small // 8, replace=False))
        return (picks[:, None] * 8 + np.arange(8)).reshape(-1)

    def put(name, rows, cols=None):
        w = b[name]
        if cols is None:
            w[rows] = s[name]
        else:
            w[np.ix_(rows, cols)] = s[name]

    def block(prefix, n_small, n_big, keep_in):
        a, out = groups(n_small, n_big), groups(n_small, n_big)
        put(f"{prefix}.0.weight", a, keep_in)
        put(f"{prefix}.3.weight", out, a)
        for norm, idx in ((1, a), (4, out)):
            for p in ("weight", "bias"):
                b[f"{prefix}.{norm}.{p}"].zero_()
                put(f"{prefix}.{norm}.{p}", idx)
        return out

    widths_s = [blk[0].out_channels for blk in small.enc]
    widths_b = [blk[0].out_channels for blk in big.enc]
    keep, enc_keep = np.array([0]), []
    for i, (ns, nb) in enumerate(zip(widths_s, widths_b, strict=True)):
        keep = block(f"enc.{i}", ns, nb, keep)
        enc_keep.append(keep)
    cs, cb = widths_s[-1], widths_b[-1]
    qk, v = np.sort(rng.choice(cb, cs, replace=False)), np.sort(rng.choice(cb, cs, replace=False))
    b["att.qkv.weight"].zero_()
    b["att.qkv.bias"].zero_()
    gain = (cb / cs) ** 0.5
    for part, idx in enumerate((qk, qk, v)):
        rows = part * cb + idx
        w_s = s["att.qkv.weight"][part * cs : (part + 1) * cs] * (gain if part == 0 else 1.0)
        b_s = s["att.qkv.bias"][part * cs : (part + 1) * cs] * (gain if part == 0 else 1.0)
        b["att.qkv.weight"][np.ix_(rows, keep)] = w_s
        b["att.qkv.bias"][rows] = b_s
    b["att.out.weight"].zero_()
    b["att.out.bias"].zero_()
    put("att.out.weight", keep, v)
    put("att.out.bias", keep)
    levels = len(widths_s)
    for j in range(levels - 1):
        level = levels - 2 - j
        ns, nb = widths_s[level], widths_b[level]
        u = np.sort(rng.choice(nb, ns, replace=False))
        b[f"up.{j}.weight"].zero_()
        b[f"up.{j}.bias"].zero_()
        b[f"up.{j}.weight"][np.ix_(keep, u)] = s[f"up.{j}.weight"]
        put(f"up.{j}.bias", u)
        keep = block(f"dec.{j}", ns, nb, np.concatenate([u, nb + enc_keep[level]]))
    put("head.weight", np.arange(3), keep)
    put("head.bias", np.arange(3))
    big.load_state_dict(b)


def test_slimming_recovers_a_model_embedded_in_a_wider_one():
    from dataclasses import replace

    from conftest import load_tool

    from veernet.train import TrainConfig, build_model

    slim = load_tool("slim_model").slim
    cfg = TrainConfig(tile=64, channels=(8, 16, 24))
    torch.manual_seed(5)
    small, big = build_model(cfg).eval(), build_model(replace(cfg, channels=(16, 24, 40))).eval()
    with torch.no_grad():
        for mod in small.modules():  # scales away from 1 and of both signs, shifts away from 0
            if isinstance(mod, torch.nn.GroupNorm):
                mod.weight.copy_(
                    torch.empty_like(mod.weight).uniform_(0.5, 1.5)
                    * torch.sign(torch.randn_like(mod.weight))
                )
                mod.bias.copy_(torch.randn_like(mod.bias) * 0.3)
        _embed(small, big, np.random.default_rng(9))
        x = torch.rand(2, 1, 64, 64)
        want = small(x)
        assert torch.allclose(big(x), want, atol=1e-4)  # the embedding is faithful
        found = build_model(cfg).eval()
        slim(big, found)
        np.testing.assert_allclose(found(x).numpy(), want.numpy(), atol=1e-4)


def test_the_architecture_of_an_exported_model_is_read_from_its_file(tmp_path):
    from veernet.train import (
        TrainConfig,
        build_model,
        export_onnx,
        exported_architecture,
        load_exported,
    )

    x = np.random.default_rng(2).random((1, 1, 64, 64), dtype=np.float32)
    for channels, attention in [((4, 8), False), ((4, 8, 12), True)]:
        cfg = TrainConfig(tile=64, channels=channels, attention=attention)
        torch.manual_seed(0)
        model = build_model(cfg).eval()
        with torch.no_grad():  # as after training: no two normalisations alike
            for p in model.parameters():
                p.add_(0.1 * torch.randn_like(p))
        path = tmp_path / f"{len(channels)}.onnx"
        export_onnx(model, cfg, path)
        read = exported_architecture(path)
        assert (read.tile, read.channels, read.attention) == (64, channels, attention)
        loaded = load_exported(path).eval()  # checks itself against ONNX Runtime
        with torch.no_grad():
            a, b = model(torch.from_numpy(x)), loaded(torch.from_numpy(x))
        torch.testing.assert_close(a, b)
    bare = tmp_path / "bare.onnx"
    torch.onnx.export(torch.nn.Conv2d(1, 1, 3), (torch.ones(1, 1, 8, 8),), str(bare), dynamo=False)
    with pytest.raises(ValueError, match="bare.onnx: not a segmenter"):
        exported_architecture(bare)


def test_distillation_pulls_the_student_towards_its_teacher(tmp_path):
    """With ``distill = 1`` the labels are left out and the teacher's probabilities are
    the target: the student ends nearer the teacher than the same run on the labels."""
    from dataclasses import replace

    from veernet.segment import OnnxSegmenter
    from veernet.train import TrainConfig, train

    quiet = {"device": "cpu", "log": lambda *_: None}
    teacher_cfg = TrainConfig(
        seed=8, tile=64, channels=(4, 8, 12), steps=2, batch=2, logs_per_shard=1,
        tiles_per_log=2, las_dir="nowhere", threads=1,
    )  # fmt: skip
    train(teacher_cfg, tmp_path / "teacher", **quiet)
    teacher = tmp_path / "teacher" / "segmenter.onnx"
    # a student of another size: the teacher's architecture comes from its file
    student = replace(
        teacher_cfg, seed=9, channels=(4, 8), lr=1e-2, steps=12, tiles_per_log=8,
        passes_per_shard=3,
    )  # fmt: skip
    info = train(replace(student, teacher=str(teacher), distill=1.0), tmp_path / "kd", **quiet)
    train(student, tmp_path / "labels", **quiet)
    assert info["teacher_sha256"] and info["steps_done"] == 12

    from veernet.synth import generate

    image = generate(9, las_dir=None).image[:256, :64]
    x = (image.astype(np.float32) / 255.0).reshape(4, 1, 64, 64)
    want = OnnxSegmenter(teacher).predict(x)

    def distance(run: str) -> float:
        return float(
            np.abs(OnnxSegmenter(tmp_path / run / "segmenter.onnx").predict(x) - want).mean()
        )

    assert distance("kd") < 0.7 * distance("labels")
    with pytest.raises(ValueError, match="distill and teacher"):
        replace(student, distill=0.5)
    with pytest.raises(ValueError, match="distill and teacher"):
        replace(student, teacher=str(teacher))
    with pytest.raises(ValueError, match="distill must be"):
        replace(student, teacher=str(teacher), distill=1.5)
