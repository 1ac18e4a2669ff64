"""Feature-extraction throughput: the article's pipeline vs ours vs the compute limit, with peak memory.

    .venv/bin/python bench/extract.py [--images 300] [--data ../shared/datasets/animals3]

Every configuration runs in its own process (peak memory = that process's ru_maxrss) on the first --images photos
of --data, with random-init backbones (same FLOPs as ImageNet weights, which are not all available offline):
- article: the article's pipeline ported to Keras 3, which no longer has ImageDataGenerator: the same
  flow_from_directory behaviour (class folders in order, keras load_img at 224x224 with its default nearest
  resize, img_to_array, rescale 1/255, batches of 50) as a PyDataset fed to model.predict, which keeps every
  feature in RAM; plain keras.applications backbone in float32.
- ours: classifier.features.extract into a fresh cache (parallel decode, batching, prefetch, folded BatchNorm).
- limit: our same backbone and precision on one preloaded batch, repeated: no decoding, no disk.
Models are built and warmed up before timing; content hashes are computed before timing.
Last line: ours/article and ours/limit for the default settings (vgg16, float32).
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
sys.path.insert(0, str(REPO_DIR))
DEFAULT_DATA = REPO_DIR.parent / "shared" / "datasets" / "animals3"
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
    run(np.zeros((32, 224, 224, 3), "uint8"))
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


def child(mode: str, backbone: str, precision: str, data: Path, count: int) -> None:
    paths = _images(data, count)
    seconds = {"article": lambda: _article(backbone, paths), "ours": lambda: _ours(backbone, precision, paths),
               "limit": lambda: _limit(backbone, precision, len(paths))}[mode]()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"images_per_s": len(paths) / seconds, "peak_mb": peak_mb, "images": len(paths)}))


def measure(mode: str, backbone: str, precision: str, data: Path, count: int) -> dict:
    env = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, __file__, "--child", mode, backbone, precision, "--data", str(data),
                          "--images", str(count)], capture_output=True, text=True, env=env, check=False)
    if out.returncode:
        raise SystemExit(f"{mode} {backbone} {precision} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--images", type=int, default=300, help="photos per measurement (mobilenet_v2: x4)")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "BACKBONE", "PRECISION"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child, args.data, args.images)

    results = {}
    print(f"{'backbone':14}{'precision':11}{'pipeline':10}{'images':>8}{'images/s':>10}{'peak MB':>9}", flush=True)
    for backbone, precision in CONFIGS:
        count = args.images * (4 if backbone == "mobilenet_v2" else 1)  # similar seconds per measurement
        modes = ["article", "ours", "limit"] if precision == "float32" else ["ours", "limit"]
        for mode in modes:
            r = results[backbone, precision, mode] = measure(mode, backbone, precision, args.data, count)
            print(f"{backbone:14}{precision:11}{mode:10}{r['images']:8d}{r['images_per_s']:10.1f}"
                  f"{r['peak_mb']:9.0f}", flush=True)
        article = results[backbone, "float32", "article"]["images_per_s"]
        ours, limit = (results[backbone, precision, m]["images_per_s"] for m in ("ours", "limit"))
        print(f"  {backbone} {precision}: ours/article={ours / article:.2f} ours/limit={ours / limit:.2f}",
              flush=True)
    ours, article, limit = (results["vgg16", "float32", m]["images_per_s"] for m in ("ours", "article", "limit"))
    print(f"ours/article={ours / article:.2f} ours/limit={ours / limit:.2f}")


if __name__ == "__main__":
    main()
