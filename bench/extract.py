"""Feature-extraction throughput: the article's pipeline vs ours vs the compute limit, with peak memory.

    .venv/bin/python bench/extract.py [--images 300] [--data ../shared/datasets/animals3] [--json out.json]

Every configuration runs in its own process (peak memory = that process's ru_maxrss) on the first --images photos
of --data, with random-init backbones (same FLOPs as ImageNet weights, which are not all available offline):
- article: the article's pipeline ported to Keras 3, which no longer has ImageDataGenerator: the same
  flow_from_directory behaviour (class folders in order, keras load_img at 224x224 with its default nearest
  resize, img_to_array, rescale 1/255, batches of 50) as a PyDataset fed to model.predict, which keeps every
  feature in RAM; plain keras.applications backbone in float32.
- ours: classifier.features.extract into a fresh cache (parallel decode, batching, prefetch, folded BatchNorm).
- limit: our same backbone and precision on one preloaded batch, repeated: no decoding, no disk.
Models are built and warmed up before timing; content hashes are computed before timing.
- decode: our decode + resize path alone on every core (no backbone).
- tfdata (on request): TensorFlow's JPEG decode and resize, batch 32, prefetch, into our same compiled backbone.
The end-to-end limit is 1 / (1/limit + 1/decode): decoding and the backbone share the cores. --rounds N
interleaves the modes N times (A/B/A/B) and keeps each one's best: on a shared machine, compare only figures of
one run, next to the load printed with them. --json PATH writes the figures the issue asks for.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
# --before DIR: mode "before" runs "ours" from another copy of classifier/ (e.g. `git archive` of an older commit)
sys.path.insert(0, os.environ.get("BENCH_CODE_DIR") or str(REPO_DIR))
DEFAULT_DATA = Path(os.environ.get("MENAGERIE_SHARED_DIR", REPO_DIR.parent / "shared")) / "datasets" / "animals3"
CONFIGS = [("vgg16", "float32"), ("vgg16", "bfloat16"), ("mobilenet_v2", "float32"), ("mobilenet_v2", "bfloat16")]


def _images(data: Path, count: int) -> list[Path]:
    """The first `count` photos, taking classes in turn so every class is represented."""
    per_class = [sorted(p for p in d.iterdir() if p.is_file()) for d in sorted(data.iterdir()) if d.is_dir()]
    interleaved = [p for group in zip(*per_class) for p in group]
    return interleaved[:count]


def _article(backbone: str, paths: list[Path]) -> int:
    import keras
    import numpy as np

    from classifier.backbones import get_backbone

    with tempfile.TemporaryDirectory() as folder:  # flow_from_directory reads class folders
        for p in paths:
            (Path(folder) / p.parent.name).mkdir(exist_ok=True)
            (Path(folder) / p.parent.name / p.name).symlink_to(p)
        files = sorted(Path(folder).glob("*/*"))

        class FlowFromDirectory(keras.utils.PyDataset):
            def __len__(self):
                return -(-len(files) // 50)

            def __getitem__(self, index):
                batch = files[index * 50:(index + 1) * 50]
                return np.stack([keras.utils.img_to_array(keras.utils.load_img(f, target_size=(224, 224)))
                                 for f in batch]) * (1.0 / 255)

        model = getattr(keras.applications, get_backbone(backbone).constructor)(include_top=False, weights=None,
                                                                                input_shape=(224, 224, 3))
        model.predict(np.zeros((50, 224, 224, 3), "float32"), verbose=0)
        start = time.perf_counter()
        features = model.predict(FlowFromDirectory(), verbose=0)
        seconds = time.perf_counter() - start
    assert len(features) == len(paths)
    return seconds


def _ours(backbone: str, precision: str, paths: list[Path]) -> float:
    import numpy as np

    from classifier.features import FeatureCache, FeatureSpec, extract, feature_model
    from classifier.images import content_hash

    spec = FeatureSpec(backbone, weights=None, precision=precision)
    _, run = feature_model(spec)
    run(np.zeros((32, 224, 224, 3), "float32"))  # traced for what extract passes (resized float32), not timed
    items = [(content_hash(p), p) for p in paths]
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        report = extract(items, spec, FeatureCache(cache), batch_size=32)
        seconds = time.perf_counter() - start
    assert report.extracted == len(set(h for h, _ in items)), report
    return seconds


def _limit(backbone: str, precision: str, count: int) -> float:
    import numpy as np

    from classifier.features import FeatureSpec, feature_model

    _, run = feature_model(FeatureSpec(backbone, weights=None, precision=precision))
    batch = np.random.default_rng(0).integers(0, 255, (32, 224, 224, 3)).astype("uint8")
    run(batch).numpy()
    start = time.perf_counter()
    for _ in range(-(-count // 32)):
        run(batch).numpy()
    return (time.perf_counter() - start) * count / (32 * -(-count // 32))


def _decode(paths: list[Path]) -> float:
    """Our decode + resize path alone (classifier.features._decoded_batches, every core), no backbone."""
    from classifier.features import _decoded_batches

    for _ in _decoded_batches([str(p) for p in paths[:32]], [224], 32):  # build and warm the resize
        pass
    start = time.perf_counter()
    for _ in _decoded_batches([str(p) for p in paths], [224], 32):
        pass
    return time.perf_counter() - start


def _tfdata(backbone: str, precision: str, paths: list[Path]) -> float:
    """A plain tf.data pipeline: TensorFlow's JPEG decode, a plain bilinear resize, batch 32, prefetch, into the same
    compiled backbone (the reference the issue compares ours with)."""
    import numpy as np
    import tensorflow as tf

    from classifier.features import FeatureSpec, feature_model

    _, run = feature_model(FeatureSpec(backbone, weights=None, precision=precision))
    run(np.zeros((32, 224, 224, 3), "uint8"))

    def load(path):
        image = tf.io.decode_jpeg(tf.io.read_file(path), channels=3)
        return tf.image.resize(image, (224, 224))

    dataset = (tf.data.Dataset.from_tensor_slices([str(p) for p in paths])
               .map(load, num_parallel_calls=tf.data.AUTOTUNE).batch(32).prefetch(tf.data.AUTOTUNE))
    start = time.perf_counter()
    count = sum(len(run(batch).numpy()) for batch in dataset)
    assert count == len(paths)
    return time.perf_counter() - start


def child(mode: str, backbone: str, precision: str, data: Path, count: int) -> None:
    paths = _images(data, count)
    seconds = {"article": lambda: _article(backbone, paths), "ours": lambda: _ours(backbone, precision, paths),
               "limit": lambda: _limit(backbone, precision, len(paths)), "decode": lambda: _decode(paths),
               "tfdata": lambda: _tfdata(backbone, precision, paths)}[mode]()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"images_per_s": len(paths) / seconds, "peak_mb": peak_mb, "images": len(paths)}))


def measure(mode: str, backbone: str, precision: str, data: Path, count: int, before: Path | None = None) -> dict:
    env = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "3"}
    if mode == "before":
        mode, env = "ours", env | {"BENCH_CODE_DIR": str(before)}
    out = subprocess.run([sys.executable, __file__, "--child", mode, backbone, precision, "--data", str(data),
                          "--images", str(count)], capture_output=True, text=True, env=env, check=False)
    if out.returncode:
        raise SystemExit(f"{mode} {backbone} {precision} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--images", type=int, default=300, help="photos per measurement (mobilenet_v2: x4)")
    parser.add_argument("--backbones", nargs="+", default=["vgg16", "mobilenet_v2"])
    parser.add_argument("--precisions", nargs="+", default=["float32", "bfloat16"])
    parser.add_argument("--modes", nargs="+", default=["article", "ours", "limit", "decode"],
                        help="of article, ours, limit (compute), decode, tfdata (a plain tf.data pipeline), "
                        "before (ours from --before)")
    parser.add_argument("--before", type=Path, help="a folder holding an older classifier/ for mode before")
    parser.add_argument("--rounds", type=int, default=1,
                        help="interleaved rounds (A/B/A/B): each figure is the best of its rounds")
    parser.add_argument("--json", type=Path, help="write {configs: [{backbone, precision, ours, compute_limit, "
                        "decode_limit, end_to_end_limit}]} in images/s here")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "BACKBONE", "PRECISION"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child, args.data, args.images)

    results, configs = {}, []
    print(f"{'backbone':14}{'precision':11}{'pipeline':10}{'images':>8}{'images/s':>10}{'peak MB':>9}  load",
          flush=True)
    for backbone in args.backbones:
        for precision in args.precisions:
            count = args.images * (4 if backbone == "mobilenet_v2" else 1)  # similar seconds per measurement
            # The article's pipeline is float32 only; its figure is the same for both precisions.
            modes = [m for m in args.modes if m != "article" or precision == "float32"]
            for _ in range(args.rounds):  # interleaved: every mode once per round, so load changes hit all
                for mode in modes:
                    r = measure(mode, backbone, precision, args.data, count, args.before)
                    load = os.getloadavg()[0]
                    best = results.get((backbone, precision, mode))
                    if not best or r["images_per_s"] > best["images_per_s"]:
                        results[backbone, precision, mode] = r
                    print(f"{backbone:14}{precision:11}{mode:10}{r['images']:8d}{r['images_per_s']:10.1f}"
                          f"{r['peak_mb']:9.0f}  {load:.1f}", flush=True)
            rate = {m: results[backbone, precision, m]["images_per_s"] for m in modes}
            line = f"  {backbone} {precision}:"
            if {"ours", "limit", "decode"} <= rate.keys():
                end_to_end = 1 / (1 / rate["limit"] + 1 / rate["decode"])  # decode and compute share the cores
                configs.append({"backbone": backbone, "precision": precision, "ours": round(rate["ours"], 2),
                                "compute_limit": round(rate["limit"], 2), "decode_limit": round(rate["decode"], 2),
                                "end_to_end_limit": round(end_to_end, 2)})
                line += f" end_to_end_limit={end_to_end:.1f} ours/end_to_end={rate['ours'] / end_to_end:.2f}"
            for other in ("article", "tfdata", "before", "limit"):
                if "ours" in rate and other in rate:
                    line += f" ours/{other}={rate['ours'] / rate[other]:.2f}"
            print(line, flush=True)
            if args.json:  # after every configuration: a long run stopped early keeps what it measured
                args.json.write_text(json.dumps({"configs": configs}, indent=2) + "\n")
    if args.json:
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
