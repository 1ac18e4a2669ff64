"""Extraction memory: classifier.sizing's estimate vs the measured peak, at a large input size.

    .venv/bin/python bench/memory.py [--backbone mobilenet_v2] [--size 1024] [--batch N] [--photos 12]
                                     [--photo-side 1200] [--json]

A child process (random-init backbone, the job's own path: classifier.features.feature_model, then extract on
--photos generated JPEGs of --photo-side px into a fresh cache) measures:
- build: resident memory added by building the backbone (TensorFlow already imported);
- extraction: the peak resident memory during extract() above the memory before it (Linux VmHWM, reset through
  /proc/self/clear_refs once the backbone is built).
The estimate is classifier.sizing.extraction_footprint at the same settings (weights: its build part; the rest:
extraction). --batch defaults to what a worker would use under JOB_MAX_MEMORY_BYTES (8 GiB), and the bench refuses
to run a batch whose estimate exceeds this machine's available memory. --json prints one JSON object (the tests run
a small case this way).
"""

import argparse
import io
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))
GIB = 1024**3


def _status_kib(field: str) -> int:
    return int(re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M).group(1))


def _photos(folder: Path, count: int, side: int) -> list[tuple[str, str]]:
    import numpy as np
    from PIL import Image

    from classifier.files import content_hash

    rng = np.random.default_rng(0)
    items = []
    for i in range(count):
        path = folder / f"photo-{i}.jpg"
        pixels = rng.integers(0, 256, (side * 3 // 4, side, 3), dtype="uint8")  # landscape, like most photos
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
        path.write_bytes(buffer.getvalue())
        items.append((content_hash(path), str(path)))
    return items


def child(args) -> dict:
    """Runs in its own process: build the backbone, extract, report resident memory in bytes."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if args.threads:  # the decode threads extraction starts (classifier.features: one per core)
        os.cpu_count = lambda: args.threads
    import tensorflow  # noqa: F401 - imported before the first reading, as in a warm worker

    from classifier.features import FeatureCache, extract, feature_model
    from classifier.recipes import feature_spec

    spec = feature_spec(args.recipe, args.backbone, None, "float32", args.size)
    with tempfile.TemporaryDirectory() as folder:
        items = _photos(Path(folder), args.photos, args.photo_side)
        before_build = _status_kib("VmRSS")
        feature_model(spec)
        before = _status_kib("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS: the peak from here on
        report = extract(items, spec, FeatureCache(Path(folder) / "cache"), batch_size=args.batch)
        peak = _status_kib("VmHWM")
    assert report.extracted == args.photos, report
    return {"build_bytes": (before - before_build) * 1024, "extraction_bytes": (peak - before) * 1024,
            "seconds": round(report.seconds, 2)}


def estimate(args) -> dict:
    from classifier.sizing import extraction_footprint

    footprint = extraction_footprint(backbone=args.backbone, sizes=[args.size], batch_size=args.batch,
                                     photo_pixels=args.photo_side * (args.photo_side * 3 // 4), threads=args.threads)
    return {"build_bytes": footprint.weights_bytes,
            "extraction_bytes": footprint.total_bytes - footprint.weights_bytes,
            "total_bytes": footprint.total_bytes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="mobilenet_v2")
    parser.add_argument("--recipe", default="recommended", help="recommended: maps at the last block's input")
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--photos", type=int, default=12)
    parser.add_argument("--photo-side", type=int, default=1200)
    parser.add_argument("--threads", type=int, default=None, help="decode threads (default: one per core)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return
    from classifier.sizing import extraction_batch_size

    if args.batch is None:  # what a worker would use under the default JOB_MAX_MEMORY_BYTES
        args.batch = extraction_batch_size(backbone=args.backbone, sizes=[args.size], limit_bytes=8 * GIB,
                                           preferred=32, photo_pixels=args.photo_side * (args.photo_side * 3 // 4))
        if args.batch is None:
            sys.exit(f"{args.backbone} at {args.size} px does not fit 8 GiB even one photo at a time")
    expected = estimate(args)
    available = int(re.search(r"^MemAvailable:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M).group(1)) * 1024
    if expected["total_bytes"] > available:
        sys.exit(f"the estimate ({expected['total_bytes'] / GIB:.1f} GiB) exceeds this machine's available memory "
                 f"({available / GIB:.1f} GiB): use a smaller --batch")
    command = [sys.executable, __file__, "--child", *sys.argv[1:], "--batch", str(args.batch)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"the measuring process failed:\n{done.stderr[-3000:]}")
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    result = {"backbone": args.backbone, "size": args.size, "batch": args.batch, "photos": args.photos,
              "photo_side": args.photo_side, "estimate": expected, "measured": measured}
    if args.json:
        print(json.dumps(result))
        return
    print(f"{args.backbone} ({args.recipe}) at {args.size} px, batch {args.batch}, {args.photos} photos of "
          f"{args.photo_side} px, {measured['seconds']} s")
    print(f"{'':12}{'estimate':>12}{'measured':>12}")
    for part in ("build_bytes", "extraction_bytes"):
        print(f"{part.removesuffix('_bytes'):12}{expected[part] / 2**20:>9.0f} MB{measured[part] / 2**20:>9.0f} MB")
    ratio = expected["extraction_bytes"] / max(1, measured["extraction_bytes"])
    print(f"extraction estimate / measured peak: {ratio:.2f}")


if __name__ == "__main__":
    main()
