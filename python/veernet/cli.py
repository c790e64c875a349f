"""The ``veernet`` command line.

Exit codes of ``digitize``: 0 every curve accepted, 3 some curve needs review, 2 bad input
or an output that could not be written (with one message naming the file and the problem).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from importlib import resources

import numpy as np

from . import build_info, thin, trace

EXIT_OK, EXIT_ERROR, EXIT_REVIEW = 0, 2, 3


def _demo(_: argparse.Namespace) -> int:
    from .resample import runs

    with resources.files("veernet").joinpath("data/demo_track.npz").open("rb") as fh:
        data = np.load(fh)
        mask = np.unpackbits(data["mask"], axis=1, count=int(data["cols"])).astype(bool)
        truth = data["truth"].astype(np.float64)
    t0 = time.perf_counter()
    skeleton = thin(mask)
    t1 = time.perf_counter()
    centre = trace(skeleton, mask.astype(np.float32))
    t2 = time.perf_counter()
    found = ~np.isnan(centre)
    gaps = runs(~found)
    print(f"bundled track mask: {mask.shape[0]} rows x {mask.shape[1]} px, {mask.mean():.2%} ink")
    print(f"thin:  {skeleton.sum()} skeleton pixels in {1e3 * (t1 - t0):.1f} ms")
    print(
        f"trace: centreline in {found.mean():.1%} of rows, {len(gaps)} gaps left as NaN, {1e3 * (t2 - t1):.1f} ms"
    )
    err = np.abs(centre[found] - truth[found])
    print(
        f"against the true centreline: median |error| {np.median(err):.2f} px, 95th percentile {np.percentile(err, 95):.2f} px"
    )
    return EXIT_OK


def _info(_: argparse.Namespace) -> int:
    print(json.dumps(build_info(), indent=2))
    return EXIT_OK


def _digitize(args: argparse.Namespace) -> int:
    from .gate import FitGate
    from .io import OutputError
    from .layout import LayoutError
    from .pipeline import digitize
    from .qc import write_qc
    from .scan import ScanError, load_scan
    from .segment import ModelError

    try:
        scan = load_scan(args.scan, page=args.page)
        gate = FitGate(min_r2=args.min_r2, min_coverage=args.min_coverage)
        result = digitize(
            scan,
            args.layout,
            segmenter=args.segmenter,
            device=args.device,
            step=args.step,
            max_gap=args.max_gap,
            reference=args.reference,
            gate=gate,
            **({"threshold": args.threshold} if args.threshold is not None else {}),
            **({"ink_link": args.ink_link} if hasattr(args, "ink_link") else {}),
        )
        result.to_las(args.out)
        if args.json:
            result.to_json(args.json)
        if args.qc:
            write_qc(args.qc, scan.image, result)
    except (ScanError, LayoutError, OutputError, ModelError, ValueError, RuntimeError) as exc:
        # Layout and output errors name their file; the rest happen on the scan.
        named = isinstance(exc, (ScanError, LayoutError, OutputError))
        print(f"veernet: error: {exc if named else f'{args.scan}: {exc}'}", file=sys.stderr)
        return EXIT_ERROR
    print(
        f"{args.scan}: {len(result.curves)} curve(s), {len(result.depth)} samples, segmenter {result.segmenter}, device {result.device}, {result.timings['total']:.2f} s"
    )
    for c in result.curves:
        q = c.qc
        ref = f", R² {q.r2:.4f}, MAE {q.mae:.4f}" if q.r2 is not None else ""
        off = f", off scale {q.off_scale:.1%} (NULL)" if q.off_scale > 0 else ""
        print(
            f"  {c.mnemonic:<8} {c.track:<6} coverage {q.coverage:.3f}, {q.gaps} gap(s){off}, residual {q.residual_rms_px:.2f} px{ref}: {q.status} ({q.reason})"
        )
    print(f"wrote {args.out}")
    return EXIT_OK if result.accepted else EXIT_REVIEW


def _eval(args: argparse.Namespace) -> int:
    from .evaluate import evaluate, plot_sweep, sweep_threshold
    from .gate import FitGate
    from .io import atomic_write_text

    if args.sweep_threshold:
        rows = sweep_threshold(
            args.folder,
            [float(v) for v in args.thresholds.split(",")],
            segmenter=args.segmenter,
            workers=args.workers,
            gate=FitGate(min_r2=args.min_r2, min_coverage=args.min_coverage),
        )
        print("threshold  recall    IoU     F1   median R²  10th pct R²  pass rate")
        for r in rows:
            m = r["mask_all"]
            r2, p10 = (
                (f"{r['r2_median']:.4f}", f"{r['r2_p10']:8.4f}")
                if r["r2_median"] is not None
                else ("  n/a ", "    n/a ")
            )
            print(
                f"  {r['threshold']:<7g}  {m['recall']:.3f}  {m['iou']:.3f}  {m['f1']:.3f}   {r2}    {p10}     {r['pass_rate']:.3f}"
            )
        out = args.json or "sweep.json"
        atomic_write_text(out, json.dumps(rows, indent=2, default=lambda v: None) + "\n")
        plot_sweep(rows, str(out).rsplit(".", 1)[0] + ".png")
        print(f"wrote {out} and its plot")
        return EXIT_OK

    ev = evaluate(
        args.folder,
        workers=args.workers,
        segmenter=args.segmenter,
        gate=FitGate(min_r2=args.min_r2, min_coverage=args.min_coverage),
    )
    if ev.cases == 0:
        print(
            f"veernet: error: {args.folder}: no cases (NAME.toml + NAME.png + NAME_reference.las)",
            file=sys.stderr,
        )
        return EXIT_ERROR
    s = ev.summary()
    print(f"{ev.cases} case(s), {s['curves']} curve(s), {s['failed_cases']} failed")
    print("mask (instrument):")
    for style, m in s["mask"].items():
        print(
            f"  {style:<7} precision {m['precision']:.3f}  recall {m['recall']:.3f}  IoU {m['iou']:.3f}  F1 {m['f1']:.3f}"
        )
    print("curves (verdict):")
    for c in ev.curves:
        r2 = f"{c['r2']:.4f}" if c["r2"] is not None else "n/a"
        print(
            f"  {c['case']:<24} {c['mnemonic']:<8} {c['style']:<7} R² {r2:<8} coverage {c['coverage']:.3f}  {c['status']}"
        )
    if s["r2_median"] is not None:
        print(
            f"total: median R² {s['r2_median']:.4f}, 10th percentile {s['r2_p10']:.4f}, mean MAE {s['mae_mean']:.4f}, pass rate {s['pass_rate']:.1%}"
        )
    bg = s["blind_gate"]
    if bg["accepted"] is not None:
        print(
            f"without a reference the gate accepts {bg['accepted']:.1%}: "
            + ", ".join(
                f"{label} {bg[key]:.1%}"
                for key, label in (
                    ("precision", "of which the reference accepts"),
                    ("recall", "of what the reference accepts"),
                    ("wrongly_accepted", "of what it sends to review"),
                )
                if bg[key] is not None
            )
        )
    for f in ev.failures:
        print(f"  failed: {f['case']}: {f['error']}")
    if args.json:
        atomic_write_text(
            args.json,
            json.dumps(
                {"summary": s, "curves": ev.curves, "failures": ev.failures},
                indent=2,
                default=lambda v: None,
            )
            + "\n",
        )
    return EXIT_OK


def _synth(args: argparse.Namespace) -> int:
    from .synth import generate, write_case

    for i in range(args.count):
        seed = args.seed + i
        write_case(generate(seed, las_dir=args.las_dir), args.outdir, f"synth_{seed:07d}")
    print(f"wrote {args.count} log(s) to {args.outdir}")
    return EXIT_OK


def _train(args: argparse.Namespace) -> int:
    try:
        from .train import TrainConfig, main_train
    except ImportError as exc:  # pragma: no cover
        print(f"veernet: error: training needs the train extra ({exc})", file=sys.stderr)
        return EXIT_ERROR
    try:
        cfg = TrainConfig.load(args.config)
    except (OSError, ValueError, TypeError) as exc:  # a TOML syntax error is a ValueError
        print(f"veernet: error: {args.config}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return main_train(cfg, args.out, args.device)


def _average_models(args: argparse.Namespace) -> int:
    from .train import average_models

    try:
        average_models(args.sources, args.out)
    except ImportError as exc:  # pragma: no cover
        print(f"veernet: error: averaging needs the onnx package ({exc})", file=sys.stderr)
        return EXIT_ERROR
    except (ValueError, OSError) as exc:  # OSError includes io.OutputError
        print(f"veernet: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(f"averaged {len(args.sources)} models into {args.out}")
    return EXIT_OK


def _batch(args: argparse.Namespace) -> int:
    from .batch import Options, run_batch

    opts = Options(
        segmenter=args.segmenter,
        device=args.device,
        step=args.step,
        max_gap=args.max_gap,
        threshold=args.threshold,
        **({"ink_link": args.ink_link} if hasattr(args, "ink_link") else {}),
    )
    try:
        lines = run_batch(args.inputs, args.layout, args.out, workers=args.workers, options=opts)
    except KeyboardInterrupt:
        print(
            "veernet: interrupted; finished scans are in the manifest, rerun to resume",
            file=sys.stderr,
        )
        return 130
    counts: dict[str, int] = {}
    for line in lines:
        counts[line["status"]] = counts.get(line["status"], 0) + 1
    print(
        f"{len(lines)} scan(s): "
        + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        + f"; manifest {args.out}/manifest.jsonl"
    )
    for line in lines:
        if line["status"] == "error":
            print(f"  error: {line['scan']}: {line['error']}", file=sys.stderr)
    if counts.get("error"):
        return EXIT_ERROR
    return EXIT_REVIEW if counts.get("review") else EXIT_OK


def _bench(args: argparse.Namespace) -> int:
    from .benchmark import markdown, run_bench
    from .io import atomic_write_text

    report = run_bench(quick=args.quick, device=args.device)
    text = markdown(report)
    print(text)
    if args.json:
        atomic_write_text(args.json, json.dumps(report, indent=2) + "\n")
    if args.md:
        atomic_write_text(args.md, text)
    return EXIT_OK


def _build_engine(args: argparse.Namespace) -> int:
    from .segment import ModelError
    from .tensorrt_backend import build_plan

    try:
        path = build_plan(args.model, max_batch=args.max_batch)
    except (ModelError, ImportError, RuntimeError) as exc:
        print(f"veernet: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(f"TensorRT plan: {path}")
    return EXIT_OK


def _ink_link(text: str) -> int | None:
    from .pipeline import MAX_INK_LINK_PX

    if text == "off":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected pixels or 'off', got {text!r}") from None
    if not 0 <= value <= MAX_INK_LINK_PX:
        raise argparse.ArgumentTypeError(
            f"expected 0 to {MAX_INK_LINK_PX} pixels or 'off', got {value}"
        )
    return value


def _ink_link_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ink-link",
        type=_ink_link,
        default=argparse.SUPPRESS,
        metavar="PX|off",
        help="extend each curve's mask along the scan's ink that continues it, linking pieces "
        "up to 2*PX apart (default 3), and fill a trace's gap along a straight stroke of ink "
        "that joins its ends; 'off': the model's mask alone",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="veernet", description="Digitize scanned well logs into LAS curves."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="thin and trace the bundled example track mask").set_defaults(
        func=_demo
    )
    sub.add_parser("info", help="print how this veernet was built").set_defaults(func=_info)
    d = sub.add_parser("digitize", help="digitize a scan into a LAS file")
    d.add_argument("scan")
    d.add_argument("--layout", required=True, help="layout TOML file")
    d.add_argument("--out", required=True, help="LAS file to write")
    d.add_argument("--reference", help="LAS file of the true curves, to score each curve")
    d.add_argument("--qc", help="PNG overlay of the recovered curves on the scan")
    d.add_argument("--json", help="result as JSON")
    d.add_argument("--segmenter", default="auto", choices=["auto", "onnx", "tensorrt", "classical"])
    d.add_argument("--device", default="auto", choices=["auto", "cpu", "gpu"])
    d.add_argument(
        "--step",
        type=float,
        help="depth step (layout units; default 0.5 ft or 0.1524 m, or finer on a scan that"
        " resolves finer: two pixel rows' depth rounded down to 1, 2 or 5 x 10^k)",
    )
    d.add_argument("--max-gap", type=float, help="longest gap bridged (default 1 ft or 0.3 m)")
    d.add_argument("--page", type=int, default=0, help="page of a multi-page TIFF")
    d.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="mask probability threshold for every class (default 0.05, dashed curves 0.02,"
        " dotted 0.01)",
    )
    _ink_link_argument(d)
    d.add_argument("--min-r2", type=float, default=0.85)
    d.add_argument("--min-coverage", type=float, default=0.9)
    d.set_defaults(func=_digitize)
    e = sub.add_parser("eval", help="score a folder of scans with ground truth")
    e.add_argument("folder")
    e.add_argument("--segmenter", default="auto", choices=["auto", "onnx", "classical"])
    e.add_argument("--json", help="write the per-curve table and summary as JSON")
    e.add_argument("--min-r2", type=float, default=0.85)
    e.add_argument("--min-coverage", type=float, default=0.9)
    e.add_argument("--workers", type=int, default=1, help="processes (cases in parallel)")
    e.add_argument(
        "--sweep-threshold",
        action="store_true",
        help="vary the mask threshold; write JSON and a plot",
    )
    e.add_argument("--thresholds", default="0.05,0.1,0.2,0.3,0.5,0.7,0.9")
    e.set_defaults(func=_eval)
    s = sub.add_parser("synth", help="render synthetic logs with layout, reference LAS and labels")
    s.add_argument("outdir")
    s.add_argument("--count", type=int, default=10)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--las-dir", default=None, help="real LAS files to draw curves from")
    s.set_defaults(func=_synth)
    b = sub.add_parser(
        "batch", help="digitize many scans with a worker pool and a resumable manifest"
    )
    b.add_argument("inputs", nargs="+", help="scan files, folders or glob patterns")
    b.add_argument(
        "--layout", required=True, help="one layout for all, or a folder of NAME.toml per scan"
    )
    b.add_argument("--out", required=True, help="output folder (LAS files and manifest.jsonl)")
    b.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    b.add_argument("--segmenter", default="auto", choices=["auto", "onnx", "tensorrt", "classical"])
    b.add_argument("--device", default="cpu", choices=["cpu", "gpu"])
    b.add_argument("--step", type=float)
    b.add_argument("--max-gap", type=float)
    b.add_argument("--threshold", type=float)
    _ink_link_argument(b)
    b.set_defaults(func=_batch)
    bn = sub.add_parser(
        "bench", help="measure throughput per stage on standard logs, with baselines"
    )
    bn.add_argument("--quick", action="store_true", help="the 100 m two-track log only")
    bn.add_argument("--device", default="cpu", choices=["cpu", "gpu"])
    bn.add_argument("--json", help="write the report as JSON")
    bn.add_argument("--md", help="write the markdown table")
    bn.set_defaults(func=_bench)
    be = sub.add_parser("build-engine", help="build and cache the TensorRT engine ahead of time")
    be.add_argument("--model", default=None, help="ONNX model (default: the shipped one)")
    be.add_argument("--max-batch", type=int, default=16)
    be.set_defaults(func=_build_engine)
    tr = sub.add_parser("train", help="train the segmenter and export ONNX (needs the train extra)")
    tr.add_argument("--config", required=True)
    tr.add_argument("--out", default="engine")
    tr.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    tr.set_defaults(func=_train)
    av = sub.add_parser(
        "average-models",
        help="average the weights of exported segmenters of one architecture (weight averaging)",
    )
    av.add_argument("out", help="the averaged model (ONNX), written atomically")
    av.add_argument("sources", nargs="+", help="exported segmenters (ONNX), same architecture")
    av.set_defaults(func=_average_models)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
