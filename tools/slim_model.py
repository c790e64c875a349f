"""Slim an exported segmenter to narrower channels, keeping its strongest groups of channels.

The shipped model's encoder is 12-24-48-96 channels; on hosts without AVX-512 it segments
below the 2 Mpx/s the product asks for, and an 8-16-32-64 model of the same design is about
1.8 times faster.  Trained from scratch on 2 CPU cores such a model stays weak, so this
starts it from the big one instead (network slimming, Liu et al. 2017): every normalised
layer keeps the GroupNorm groups whose scales |gamma| sum highest, so the kept channels are
normalised over exactly the channels they were normalised over before (the first level, one
group of 12, keeps its 8 strongest channels); the upsampling layers keep their output
channels with the largest weights; the attention keeps the query/key channels with the
largest products of their weights and the value channels with the largest weights in and
out, and scales the queries by sqrt(small / big) so its logits keep their scale.  The
result is an ONNX model of the small architecture, to be fine-tuned (``init`` in a
training config).

    python tools/slim_model.py SRC.onnx SRC_CONFIG.toml OUT.onnx --channels 8 16 32 64
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np
import torch

from veernet.train import TrainConfig, build_model, export_onnx, load_onnx_weights


def _top(score: np.ndarray, k: int, group: int = 1) -> np.ndarray:
    """Indices (sorted) of the ``k`` channels in the highest-scoring groups of ``group``."""
    if group == 1 or len(score) % group or k % group:
        return np.sort(np.argsort(-score, kind="stable")[:k])
    sums = score.reshape(-1, group).sum(1)
    groups = np.sort(np.argsort(-sums, kind="stable")[: k // group])
    return (groups[:, None] * group + np.arange(group)[None, :]).reshape(-1)


def _gn_keep(norm: torch.nn.GroupNorm, k: int) -> np.ndarray:
    size = norm.num_channels // norm.num_groups
    return _top(norm.weight.detach().abs().numpy(), k, size if k % size == 0 else 1)


def slim(big: torch.nn.Module, small: torch.nn.Module) -> None:
    """Copy the strongest channels of ``big`` into ``small`` (same design, narrower)."""
    sd = {k: v.detach().clone() for k, v in big.state_dict().items()}
    out: dict[str, torch.Tensor] = {}
    levels = len(big.enc)
    widths = [blk[0].out_channels for blk in small.enc]

    def block(prefix: str, blk_big, width: int, keep_in: np.ndarray) -> np.ndarray:
        a = _gn_keep(blk_big[1], width)
        out[f"{prefix}.0.weight"] = sd[f"{prefix}.0.weight"][a][:, keep_in]
        out[f"{prefix}.1.weight"] = sd[f"{prefix}.1.weight"][a]
        out[f"{prefix}.1.bias"] = sd[f"{prefix}.1.bias"][a]
        b = _gn_keep(blk_big[4], width)
        out[f"{prefix}.3.weight"] = sd[f"{prefix}.3.weight"][b][:, a]
        out[f"{prefix}.4.weight"] = sd[f"{prefix}.4.weight"][b]
        out[f"{prefix}.4.bias"] = sd[f"{prefix}.4.bias"][b]
        return b

    keep = np.array([0])
    enc_keep = []
    for i in range(levels):
        keep = block(f"enc.{i}", big.enc[i], widths[i], keep)
        enc_keep.append(keep)
    c_big, c = big.enc[-1][0].out_channels, widths[-1]
    if hasattr(big.att, "qkv"):
        w = sd["att.qkv.weight"][:, :, 0, 0]
        bias = sd["att.qkv.bias"]
        q, k_, v = w[:c_big], w[c_big : 2 * c_big], w[2 * c_big :]
        qk = _top((q.abs().sum(1) * k_.abs().sum(1)).numpy(), c)
        wo = sd["att.out.weight"][:, :, 0, 0]
        vv = _top((v.abs().sum(1) * wo.abs().sum(0)).numpy(), c)
        rows = np.concatenate([qk, c_big + qk, 2 * c_big + vv])
        gain = torch.ones(3 * c)
        gain[:c] = (c / c_big) ** 0.5  # q·k over fewer channels, scaled by c**-0.5
        out["att.qkv.weight"] = (w[rows][:, keep] * gain[:, None])[:, :, None, None]
        out["att.qkv.bias"] = bias[rows] * gain
        out["att.out.weight"] = wo[keep][:, vv][:, :, None, None]
        out["att.out.bias"] = sd["att.out.bias"][keep]
    for j in range(levels - 1):
        level = levels - 2 - j
        width = widths[level]
        wu = sd[f"up.{j}.weight"]  # (in, out, 2, 2)
        wd = sd[f"dec.{j}.0.weight"]  # (out, 2 * out_up, 3, 3)
        n_up = wu.shape[1]
        score = (wu.abs().sum((0, 2, 3)) * wd[:, :n_up].abs().sum((0, 2, 3))).numpy()
        u = _top(score, width)
        out[f"up.{j}.weight"] = wu[keep][:, u]
        out[f"up.{j}.bias"] = sd[f"up.{j}.bias"][u]
        dec_in = np.concatenate([u, n_up + enc_keep[level]])
        keep = block(f"dec.{j}", big.dec[j], width, dec_in)
    out["head.weight"] = sd["head.weight"][:, keep]
    out["head.bias"] = sd["head.bias"]
    missing = set(small.state_dict()) - set(out)
    if missing:
        raise ValueError(f"not slimmed: {sorted(missing)}")
    small.load_state_dict(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src")
    ap.add_argument("config", help="the training config of SRC (its architecture)")
    ap.add_argument("out")
    ap.add_argument("--channels", type=int, nargs="+", required=True)
    args = ap.parse_args()
    cfg = TrainConfig.load(args.config)
    big = build_model(cfg)
    load_onnx_weights(big, cfg, args.src)
    small_cfg = dataclasses.replace(cfg, channels=tuple(args.channels), init="")
    small = build_model(small_cfg)
    slim(big.eval(), small)
    export_onnx(small.eval(), small_cfg, args.out)
    n_big = sum(p.numel() for p in big.parameters())
    n_small = sum(p.numel() for p in small.parameters())
    print(f"{args.out}: {n_small:,} parameters (from {n_big:,})")


if __name__ == "__main__":
    main()
