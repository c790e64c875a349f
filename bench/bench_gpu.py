"""GPU kernels against the CPU core and scikit-image, measured in one run.

Prints one table: stage, size, GPU time, ratio to the CPU core, ratio to scikit-image, and
achieved bandwidth against the device's measured copy bandwidth.  GPU times are medians of
CUDA-event timings after warm-up; outputs are checked identical to the CPU's first.

    python bench/bench_gpu.py [--repeat 20] [--json OUT]
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def gpu_median(cp, fn, repeat: int) -> float:
    fn()
    cp.cuda.Device().synchronize()
    times = []
    for _ in range(repeat):
        start, stop = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(cp.cuda.get_elapsed_time(start, stop) / 1e3)
    return float(np.median(times))


def copy_bandwidth(cp) -> float:
    """Bytes read plus bytes written per second by a 1 GiB device-to-device copy."""
    src = cp.empty(1 << 30, dtype=cp.uint8)
    dst = cp.empty_like(src)

    def copy() -> None:
        dst[...] = src

    return 2 * src.nbytes / gpu_median(cp, copy, 10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--json")
    args = ap.parse_args()

    import cupy as cp
    from skimage.morphology import skeletonize

    import veernet
    from veernet.benchmark import median_seconds
    from veernet.testing import curve_band_mask, track_mosaic
    from veernet.thinning import thin_gpu, thin_tiled_cpu
    from veernet.tracing import trace_chunked_cpu, trace_gpu

    dev = cp.cuda.Device()
    props = cp.cuda.runtime.getDeviceProperties(dev.id)
    name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    # Copy bandwidth: bytes read plus bytes written by a large device-to-device copy.
    copy_bw = copy_bandwidth(cp)

    rng = np.random.default_rng(2026)
    rows = []
    # Thinning schedules (tile rows, tile words, sub-iterations per round), the default
    # first; (64, 8, 2) has a grid-wide barrier after every iteration, as the kernel
    # before the tiled rounds had after every sub-iteration.
    default = veernet._core.THIN_SCHEDULE
    schedules = [default, (64, 8, 2), (64, 8, 24), (32, 8, 16), (128, 4, 16)]
    for n in (4096, 1024):
        mask = track_mosaic(n, n, rng)
        d_mask = cp.asarray(mask)
        if not np.array_equal(cp.asnumpy(veernet.thin(d_mask)), veernet.thin(mask)):
            raise SystemExit(f"MISMATCH: GPU and CPU thinning differ on the {n}x{n} mask")
        t_cpu = median_seconds(lambda m=mask: veernet.thin(m), 7)
        t_sk = median_seconds(lambda m=mask: skeletonize(m), 3)
        touched = 2 * mask.size  # read the byte mask, write the byte skeleton
        for schedule in schedules if n == 4096 else [default]:
            counts = thin_tiled_cpu(mask, schedule=schedule)[1]
            t_gpu = gpu_median(
                cp, lambda m=d_mask, s=schedule: thin_gpu(m, schedule=s), args.repeat
            )
            label = "thin" if schedule == default else f"thin, schedule {schedule}"
            size = (
                f"{n}x{n} ({100 * mask.mean():.2f} % fg, {counts['rounds']} rounds, "
                f"{counts['tile_runs']} tile runs of {counts['foreground_tiles']} fg tiles)"
            )
            rows.append((label, size, t_gpu, t_cpu, t_sk, touched / t_gpu))
            print(
                f"thin {n}x{n} {schedule}: {1e3 * t_gpu:.3f} ms, "
                f"{t_gpu / (touched / copy_bw):.1f}x the bandwidth floor",
                flush=True,
            )

    for n_rows, cols in ((40_000, 400), (40_000, 1000)):
        mask, _ = curve_band_mask(n_rows, cols, rng, curves=1, swings=n_rows // 500)
        skel = veernet.thin(mask)
        prob = mask.astype(np.float32)
        d_skel, d_prob = cp.asarray(skel), cp.asarray(prob)
        _, p_gpu = veernet.trace(d_skel, d_prob, return_path=True)
        _, p_cpu = veernet.trace(skel, prob, return_path=True)
        if not np.array_equal(cp.asnumpy(p_gpu), p_cpu):
            raise SystemExit("MISMATCH: GPU and CPU tracing chose different paths")
        t_gpu = gpu_median(
            cp, lambda s=d_skel, p=d_prob: veernet.trace(s, p), max(5, args.repeat // 4)
        )
        t_cpu = median_seconds(lambda s=skel, p=prob: veernet.trace(s, p), 3)
        touched = skel.size * (1 + 4 + 2)  # skeleton, probability, back-pointers
        # The chunks the default schedule runs twice (counted by the CPU twin), and the
        # same track as one chunk: the sequential recurrence, the baseline of the schedule.
        chunk, warmup = veernet._core.CUDA_TRACE_SCHEDULE
        counts = trace_chunked_cpu(skel, prob, chunk=chunk, warmup=warmup)[2]
        t_seq = gpu_median(
            cp, lambda s=d_skel, p=d_prob, n=n_rows: trace_gpu([(s, p)], schedule=(n, 0)), 3
        )
        rows.append(
            (
                "trace",
                f"{n_rows}x{cols} ({counts['reruns']} of {counts['chunks']} chunks rerun)",
                t_gpu,
                t_cpu,
                float("nan"),
                touched / t_gpu,
            )
        )
        rows.append(
            ("trace, one chunk", f"{n_rows}x{cols}", t_seq, t_cpu, float("nan"), touched / t_seq)
        )
        print(f"trace {n_rows}x{cols}: chunked schedule {t_seq / t_gpu:.1f}x faster than one chunk")

    # Many tracks at once: 8 tracks x 2 classes of a 40,000-row log in one launch.
    jobs = []
    for _ in range(16):
        mask, _ = curve_band_mask(40_000, 400, rng, curves=1, swings=80)
        jobs.append((cp.asarray(veernet.thin(mask)), cp.asarray(mask.astype(np.float32))))
    t_batch = gpu_median(cp, lambda: trace_gpu(jobs), 5)
    rows.append(
        (
            "trace x16",
            "16 x 40000x400",
            t_batch,
            float("nan"),
            float("nan"),
            16 * 40_000 * 400 * 7 / t_batch,
        )
    )

    print(
        f"device: {name}; copy bandwidth {copy_bw / 1e9:.0f} GB/s (read + write); veernet {veernet.__version__}"
    )
    print()
    print("| stage | size | GPU | vs CPU core | vs scikit-image | bandwidth | of copy bw |")
    print("|---|---|---|---|---|---|---|")
    for stage, size, t_gpu, t_cpu, t_sk, bw in rows:
        print(
            f"| {stage} | {size} | {1e3 * t_gpu:.3f} ms | {t_cpu / t_gpu:.1f}x | {t_sk / t_gpu:.1f}x | "
            f"{bw / 1e9:.1f} GB/s | {100 * bw / copy_bw:.1f} % |"
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"device": name, "copy_bw": copy_bw, "rows": rows}, fh, indent=2)


if __name__ == "__main__":
    main()
