"""Batch: digitize many scans with a pool of workers, a live progress line and a manifest.

``OUTDIR/manifest.jsonl`` gets one line per scan as it finishes: status (``accept``,
``review``, ``error``), gate verdicts per curve, timings and the error, keyed by the scan's
SHA-256, the layout's digest, the segmenter's digest and the options.  A rerun skips scans
whose key already has a finished line and whose LAS file is there; a scan that failed is
tried again.  LAS files are written atomically and a manifest line is appended (and synced)
only after its LAS file is in place, so an interrupted run (Ctrl-C, kill, power loss) leaves
complete LAS files and a manifest whose lines each describe one; a torn last line is dropped
when the manifest is next read.  One bad scan is recorded and the batch goes on.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .io import atomic_write_text
from .pipeline import INK_LINK_PX
from .scan import SCAN_SUFFIXES, file_sha256


@dataclass(frozen=True)
class Options:
    segmenter: str = "auto"
    device: str = "cpu"
    step: float | None = None
    max_gap: float | None = None
    threshold: float | None = None
    ink_link: int | None = INK_LINK_PX

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.__dict__, sort_keys=True).encode()).hexdigest()[:16]


def expand_inputs(inputs: Iterable[str]) -> list[Path]:
    """Files, folders (their scans, sorted) and glob patterns, in order, without repeats."""
    out: list[Path] = []
    seen: set[Path] = set()
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.suffix.lower() in SCAN_SUFFIXES)
        elif any(ch in item for ch in "*?["):
            found = sorted(Path(q) for q in glob.glob(item))
        else:
            found = [p]
        for q in found:
            key = q.resolve()
            if key not in seen:
                seen.add(key)
                out.append(q)
    return out


def layout_for(scan: Path, layout: Path) -> Path:
    """The shared layout file, or ``layout/<scan stem>.toml`` when ``layout`` is a folder."""
    return layout / f"{scan.stem}.toml" if layout.is_dir() else layout


def read_manifest(path: Path) -> list[dict[str, Any]]:
    """The manifest's complete lines (a torn last line from an interrupted run is dropped)."""
    if not path.exists():
        return []
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        try:
            lines.append(json.loads(raw))
        except json.JSONDecodeError:
            continue
    return lines


_worker_segmenter: Any = None


def _init_worker(segmenter: str, threads: int | None) -> None:
    global _worker_segmenter
    if threads:
        os.environ["VEERNET_ORT_THREADS"] = str(threads)
    from .segment import get_segmenter

    _worker_segmenter = get_segmenter(segmenter)


def _run_one(job: tuple[str, str, str, Options, str]) -> dict[str, Any]:
    """Digitize one scan in a worker; never raises (errors become the line's status)."""
    from .pipeline import digitize
    from .scan import load_scan

    scan_path, layout_path, out_path, opts, key = job
    line: dict[str, Any] = {"scan": scan_path, "layout": layout_path, "las": out_path, "key": key}
    t0 = time.perf_counter()
    try:
        scan = load_scan(scan_path)
        line["input_sha256"] = scan.sha256
        line["megapixels"] = scan.image.size / 1e6
        kwargs: dict[str, Any] = {"step": opts.step, "max_gap": opts.max_gap, "device": opts.device}
        if opts.threshold is not None:
            kwargs["threshold"] = opts.threshold
        kwargs["ink_link"] = opts.ink_link
        result = digitize(
            scan, layout_path, segmenter=_worker_segmenter or opts.segmenter, **kwargs
        )
        result.to_las(out_path)
        line["status"] = "accept" if result.accepted else "review"
        line["segmenter"] = f"{result.segmenter} {result.provenance['SEGMENTER'].split()[-1]}"
        line["curves"] = [
            {
                "mnemonic": c.mnemonic,
                "status": c.qc.status,
                "coverage": round(c.qc.coverage, 4),
                "off_scale": round(c.qc.off_scale, 4),
                "reason": c.qc.reason,
            }
            for c in result.curves
        ]
        line["timings_s"] = {k: round(v, 4) for k, v in result.timings.items()}
    except Exception as exc:  # one bad scan must not stop the batch
        line["status"] = "error"
        line["error"] = f"{type(exc).__name__}: {exc}"
    line["seconds"] = round(time.perf_counter() - t0, 3)
    return line


class Progress:
    """One status line on stderr: items done, Mpx/s and ETA."""

    def __init__(self, total: int, stream: Any = sys.stderr):
        self.total, self.stream = total, stream
        self.done, self.mpx, self.t0 = 0, 0.0, time.perf_counter()
        self.interactive = hasattr(stream, "isatty") and stream.isatty()

    def update(self, line: dict[str, Any]) -> None:
        self.done += 1
        self.mpx += float(line.get("megapixels", 0.0))
        elapsed = max(time.perf_counter() - self.t0, 1e-9)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else float("inf")
        text = f"[{self.done}/{self.total}] {self.mpx / elapsed:.1f} Mpx/s, ETA {eta:.0f} s, last: {Path(line['scan']).name} {line['status']}"
        self.stream.write(("\r" + text + "\x1b[K") if self.interactive else text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.interactive:
            self.stream.write("\n")


def run_batch(
    inputs: list[str],
    layout: str | Path,
    out_dir: str | Path,
    *,
    workers: int | None = None,
    options: Options | None = None,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Digitize ``inputs`` into ``out_dir``; return this run's manifest lines (skips included)."""
    opts = options or Options()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest = out / "manifest.jsonl"
    # Temporary files of writes a killed run never finished: never results, always safe to drop.
    for stale in out.glob(".*.tmp"):
        stale.unlink(missing_ok=True)
    previous = read_manifest(manifest)
    # Rewrite the manifest without a torn line before appending to it.
    atomic_write_text(manifest, "".join(json.dumps(line) + "\n" for line in previous))
    finished = {
        line["key"]
        for line in previous
        if line.get("status") in ("accept", "review") and Path(line.get("las", "")).exists()
    }

    from .segment import get_segmenter

    seg_digest = get_segmenter(opts.segmenter).digest
    layout_path = Path(layout)
    jobs, lines = [], []
    for scan in expand_inputs(inputs):
        lay = layout_for(scan, layout_path)
        if not scan.is_file():
            lines.append({"scan": str(scan), "status": "error", "error": "no such file"})
            continue
        if not lay.is_file():
            lines.append({"scan": str(scan), "status": "error", "error": f"no layout {lay}"})
            continue
        key = hashlib.sha256(
            f"{file_sha256(scan)}|{file_sha256(lay)}|{seg_digest}|{opts.digest()}".encode()
        ).hexdigest()[:32]
        las = out / f"{scan.stem}.las"
        if key in finished:
            lines.append({"scan": str(scan), "status": "skipped", "key": key, "las": str(las)})
            continue
        jobs.append((str(scan), str(lay), str(las), opts, key))

    bar = Progress(len(jobs)) if progress and jobs else None
    with manifest.open("a", encoding="utf-8") as fh:
        for line in lines:
            if line["status"] == "error":
                _append(fh, line)

        def record(line: dict[str, Any]) -> None:
            _append(fh, line)
            lines.append(line)
            if bar:
                bar.update(line)

        n = workers or os.cpu_count() or 1
        if n <= 1 or len(jobs) <= 1:
            _init_worker(opts.segmenter, None)
            for job in jobs:
                record(_run_one(job))
        else:
            import multiprocessing as mp

            with mp.get_context("spawn").Pool(
                n, initializer=_init_worker, initargs=(opts.segmenter, 1)
            ) as pool:
                for line in pool.imap_unordered(_run_one, jobs):
                    record(line)
    if bar:
        bar.close()
    return lines


def _append(fh: Any, line: dict[str, Any]) -> None:
    fh.write(json.dumps(line) + "\n")
    fh.flush()
    os.fsync(fh.fileno())
