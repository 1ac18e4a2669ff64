"""Export bundle agreement: each format's decisions on a run's test split against the app's, and its size.

    .venv/bin/python -m classifier train ../shared/datasets/caltech_animals --out /tmp/caltech --backbone \
        mobilenet_v2 --pooling avg --optimizer adam --lr 1e-3 --epochs 30
    .venv/bin/python bench/bundle.py /tmp/caltech [--bundle /tmp/caltech.zip]

The run's features.json names the test photos. The app's answer is classifier.predict.Predictor's (what the web
app and the API serve); each format runs through the bundle's own predict.py functions (load_photo and the
format's loader), one photo at a time, as a caller would. Targets (issue "Serving"): model.keras gives the app's
decision on >= 99 % of the photos; every other format scores within 1 point of model.keras, with the same labels.
"""

import argparse
import importlib.util
import json
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))


def _bundle_module(folder: Path):
    spec = importlib.util.spec_from_file_location("bundle_predict", folder / "predict.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    from classifier.bundle import FORMAT_FILES, export_bundle
    from classifier.predict import Predictor

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--bundle", type=Path, default=None, help="existing bundle zip (default: export one now)")
    args = parser.parse_args()

    items = [i for i in json.loads((args.run_dir / "features.json").read_text())["items"] if i["split"] == "test"]
    class_names = json.loads((args.run_dir / "model.json").read_text())["class_names"]
    truth = np.array([class_names.index(i["label"]) for i in items])
    photos = [Path(i["path"]) for i in items]
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        bundle = args.bundle
        if bundle is None:
            bundle = folder / "bundle.zip"
            start = time.perf_counter()
            export_bundle(args.run_dir, bundle)
            print(f"export: {time.perf_counter() - start:.0f} s")
        with zipfile.ZipFile(bundle) as archive:
            archive.extractall(folder / "bundle")
            sizes = {info.filename: info.file_size for info in archive.infolist()}
        print(f"bundle: {bundle.stat().st_size / 1e6:.1f} MB zipped, {len(photos)} test photos, "
              f"{len(class_names)} classes")

        app = Predictor.from_run_dir(args.run_dir).probabilities(photos).argmax(1)
        print(f"app accuracy {np.mean(app == truth):.2%}")
        code = _bundle_module(folder / "bundle")
        loaders = {"keras": code.keras_model, "tflite": code.tflite_model, "tflite-int8": code.tflite_model,
                   "onnx": code.onnx_model}
        decoded = [code.load_photo(p) for p in photos]
        decisions = {}
        print(f"{'format':12}{'MB':>7}{'accuracy':>10}{'= app':>9}{'= keras':>9}{'ms/photo':>10}")
        for fmt, name in FORMAT_FILES.items():
            if name not in sizes:
                print(f"{fmt:12} not in the bundle")
                continue
            model = loaders[fmt](folder / "bundle" / name)
            model(decoded[0])  # warm-up
            start = time.perf_counter()
            decisions[fmt] = np.array([np.argmax(model(photo)) for photo in decoded])
            ms = (time.perf_counter() - start) * 1000 / len(decoded)
            keras_agree = np.mean(decisions[fmt] == decisions["keras"])
            print(f"{fmt:12}{sizes[name] / 1e6:7.1f}{np.mean(decisions[fmt] == truth):10.2%}"
                  f"{np.mean(decisions[fmt] == app):9.2%}{keras_agree:9.2%}{ms:10.1f}", flush=True)
        keras_accuracy = np.mean(decisions["keras"] == truth)
        others = {f: abs(np.mean(d == truth) - keras_accuracy) for f, d in decisions.items() if f != "keras"}
        print(f"targets: keras = app on {np.mean(decisions['keras'] == app):.2%} (>= 99 %); largest accuracy gap "
              f"to keras {max(others.values(), default=0):.2%} (<= 1 point)")


if __name__ == "__main__":
    main()
