"""The portable export bundle of a run: one zip that serves the model without this project.

model.keras (decoded RGB uint8 photo of any size -> probabilities: classifier.preprocessing's resize, the backbone,
the head with the run's temperature, as the Predictor), labels.json (class order), MODEL_CARD.md, TFLite float32
and int8, ONNX, and predict.py (classifier/bundle_predict.py). Every format is converted from the same Keras
model, which is the app's own computation (build_photo_model), so the bundle answers as the app does. The int8
model keeps its softmax in float (an int8 softmax answers in steps of 1/256: its top probability would stay below a
threshold of 0.998), and each format's decisions are checked against the app's on held-out photos at export, the
int8 model answering with its own threshold, fitted on the validation photos (MODEL_CARD.md gives both).
"""

import json
import os
import tempfile
import zipfile
from dataclasses import replace
from datetime import datetime, timezone
from itertools import islice
from pathlib import Path
from typing import Callable

import numpy as np

from classifier.decision import effective_threshold, rank
from classifier.files import atomic_path
from classifier.images import ImageError, load_image

FORMAT_FILES = {"keras": "model.keras", "tflite": "model_float32.tflite", "tflite-int8": "model_int8.tflite",
                "onnx": "model.onnx"}
REPRESENTATIVE_PHOTOS = 100  # int8 calibration: enough for stable activation ranges, a few seconds per 10
HELD_OUT_PHOTOS = 100  # per held-out split, for each format's agreement with the app: a minute or so


def _split_photos(run_dir, split: str, limit: int) -> list[Path]:
    path = Path(run_dir) / "features.json"
    if not path.is_file():
        return []
    items = sorted((i for i in json.loads(path.read_text())["items"] if i["split"] == split),
                   key=lambda i: i["hash"])
    return [Path(i["path"]) for i in items if Path(i["path"]).is_file()][:limit]


def training_photos(run_dir, limit: int = REPRESENTATIVE_PHOTOS) -> list[Path]:
    """Up to `limit` training photos of the run that are still readable here (features.json), spread over the
    classes by taking them in content-hash order; [] when the run lists none."""
    return _split_photos(run_dir, "train", limit)


def held_out_photos(run_dir, limit: int = HELD_OUT_PHOTOS) -> dict[str, list[Path]]:
    """{"validation": [...], "test": [...]}: up to `limit` readable photos of each held-out split of the run
    (features.json), in content-hash order."""
    return {split: _split_photos(run_dir, split, limit) for split in ("validation", "test")}


def _dataset_counts(run_dir) -> dict:
    """{split: {label: count}} from features.json, or {} when the run has none."""
    path = Path(run_dir) / "features.json"
    counts: dict = {}
    if path.is_file():
        for item in json.loads(path.read_text())["items"]:
            split = counts.setdefault(item["split"], {})
            split[item["label"]] = split.get(item["label"], 0) + 1
    return counts


def _representative(photos: list, limit: int):
    """The int8 converter's calibration data: decoded photos at their own size (the model resizes)."""
    def generate():
        used = 0
        for photo in photos:
            if used == limit:
                return
            try:
                image = load_image(photo)
            except ImageError:
                continue
            used += 1
            yield [image[None]]

    return generate


def _serving_function(model):
    """The model as a tf.function in inference mode: traced without `training=False`, the exporters keep Dropout
    and BatchNorm's batch statistics of a nested head (the recommended recipe's last block)."""
    import tensorflow as tf

    return tf.function(lambda photo: model(photo, training=False),
                       input_signature=[tf.TensorSpec((None, None, None, 3), tf.uint8, name="photo")])


def _saved_model(model, path: Path) -> None:
    import keras

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", _serving_function(model))
    archive.write_out(str(path), verbose=False)


def _onnx(model, path: Path) -> None:
    """tf2onnx on the inference function, as Keras's own model.export(format="onnx") does it."""
    import tf2onnx
    from keras.src.export.tf2onnx_lib import patch_tf2onnx  # Keras's numpy 2 fixes for tf2onnx

    patch_tf2onnx()
    function = _serving_function(model)
    tf2onnx.convert.from_function(function, function.input_signature, output_path=str(path))


def _tflite(saved_model: Path, photos: list | None) -> bytes:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    if photos is None:
        return converter.convert()
    # int8 weights and activations, float where an op has no int8 kernel; I/O unchanged. The softmax stays float
    # (TFLite's selective quantisation, through its quantisation debugger): in int8 its outputs are multiples of
    # 1/256, so the top probability could never reach a threshold above 255/256.
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = _representative(photos, REPRESENTATIVE_PHOTOS)
    options = tf.lite.experimental.QuantizationDebugOptions(denylisted_ops=["SOFTMAX"])
    return tf.lite.experimental.QuantizationDebugger(converter=converter, debug_options=options) \
        .get_nondebug_quantized_model()


def _decisions(probabilities, labels: list[str], threshold: float | None) -> list[str]:
    """Each photo's decision as a person reads it: its class, or "unsure" (classifier.decision.rank)."""
    answers = (rank(p, labels, threshold) for p in probabilities)
    return ["unsure" if a["decision"] == "unsure" else a["label"] for a in answers]


def _agreement(decisions: list[str], app: list[str]) -> float:
    return sum(a == b for a, b in zip(decisions, app)) / len(app)


def fit_threshold(probabilities, app: list[str], labels: list[str], threshold: float | None) -> float | None:
    """The threshold at which a format's `probabilities` give the app's decisions (`app`) on the most photos; of
    equally good ones the nearest to the app's `threshold`, so a format that answers as the app keeps it. A format
    whose probabilities move (int8: its confidence drops a little on most photos) gets one that follows them."""
    if not threshold or not len(app):
        return threshold
    confidence = np.unique(np.asarray(probabilities).max(axis=1))
    candidates = np.unique(np.r_[threshold, (confidence[1:] + confidence[:-1]) / 2])
    return float(max(candidates, key=lambda t: (_agreement(_decisions(probabilities, labels, t), app),
                                                -abs(t - threshold))))


def _check_formats(folder: Path, present: list[str], run_dir, threshold: float | None, held_out: dict) -> dict:
    """{format: {"threshold", "agreement", "photos", "split", "fitted_on"}}: each format run by the bundle's own
    predict.py code on held-out photos, its threshold fitted on the validation photos, its decisions compared with
    the app's (classifier.predict.Predictor) on the test photos (on the validation photos when there are no test
    photos, then unfitted); {} when no held-out photo is readable."""
    from classifier import bundle_predict
    from classifier.predict import Predictor

    readable = {split: list(islice((p for p in held_out.get(split) or [] if _readable(p)), HELD_OUT_PHOTOS))
                for split in ("validation", "test")}
    fit_on, check_on, split = readable["validation"], readable["test"], "test"
    if not check_on:
        fit_on, check_on, split = [], fit_on, "validation"
    if not check_on:
        return {}
    app_model = Predictor.from_run_dir(run_dir)
    labels, photos = app_model.class_names, [*fit_on, *check_on]
    app = _decisions(app_model.probabilities(photos), labels, threshold)
    models = {}
    for fmt in present:
        try:
            models[fmt] = bundle_predict.LOADERS[fmt](folder / FORMAT_FILES[fmt])
        except ImportError:  # this machine lacks the format's runtime (onnxruntime, say): shipped, not checked
            continue
    answers: dict = {fmt: [] for fmt in models}
    for path in photos:  # one decoded photo in memory at a time: photos may be large
        photo = bundle_predict.load_photo(path)
        for fmt, model in models.items():
            answers[fmt].append(np.asarray(model(photo), dtype="float64"))
    checks = {}
    for fmt in models:
        probabilities = np.stack(answers[fmt])
        fitted = fit_threshold(probabilities[:len(fit_on)], app[:len(fit_on)], labels, threshold)
        checks[fmt] = {"threshold": fitted, "split": split, "photos": len(check_on), "fitted_on": len(fit_on),
                       "agreement": _agreement(_decisions(probabilities[len(fit_on):], labels, fitted),
                                               app[len(fit_on):])}
    return checks


def _readable(path) -> bool:
    try:
        load_image(path)
    except ImageError:
        return False
    return True


def _card(run: dict, *, dataset: dict, counts: dict, report: dict | None, formats: dict, calibrated: bool,
          created: str, threshold: float | None, thresholds: dict, checks: dict) -> str:
    spec, config = run["spec"], run["config"]
    sizes = " + ".join(str(s.size) for s in run["views"])  # several: the same photo at each size, side by side
    temperature = run["calibration"]["temperature"]
    chosen = "as edited in the app" if threshold != run["calibration"]["threshold"] else "chosen on validation"
    lines = [f"# Model card: {dataset.get('name') or 'image classifier'}", "",
             f"Exported {created} by Menagerie.", "",
             "## What it does",
             f"Sorts a photo into one of {len(run['class_names'])} classes: {', '.join(run['class_names'])} "
             "(labels.json gives the order of the model's outputs).", "",
             "## Dataset"]
    if dataset.get("name"):
        lines.append(f"Dataset: {dataset['name']}.")
    if counts:
        splits = [s for s in ("train", "validation", "test") if s in counts]
        lines += ["", "| class | " + " | ".join(splits) + " |", "|---" * (len(splits) + 1) + "|"]
        lines += [f"| {label} | " + " | ".join(str(counts[s].get(label, 0)) for s in splits) + " |"
                  for label in run["class_names"]]
        lines.append("| **total** | " + " | ".join(str(sum(counts[s].values())) for s in splits) + " |")
    else:
        lines.append("Photo counts were not recorded with this run.")
    head = (", ".join(f"{k}={v}" for k, v in config.to_dict().items()) if config is not None else
            json.dumps(run.get("chosen")))
    lines += ["", "## Recipe",
              f"- Recipe: {run['recipe']}",
              f"- Backbone: {spec.backbone}, weights {spec.weights or 'random init'}, input {sizes} px, "
              f"features {spec.stage}, pooling {spec.pooling or 'none (feature maps)'}, {spec.precision}",
              f"- Head: {head}; best epoch {run.get('best_epoch')}", "", "## Metrics (test split)"]
    if report:
        lines += [f"Accuracy {report['accuracy']:.3f}, macro F1 {report['macro_f1']:.3f}, loss {report['loss']:.4f} "
                  f"on {sum(c['support'] for c in report['per_class'])} photos.", "",
                  "| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
        lines += [f"| {c['label']} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | {c['support']} |"
                  for c in report["per_class"]]
    else:
        lines.append("No test report was saved with this run.")
    lines += ["", "## Calibration and threshold",
              f"- Calibration: temperature scaling, T = {temperature:.4g} (built into every format)." if calibrated
              else "- Calibration: not calibrated (probabilities are the head's softmax).",
              f"- Threshold: answer \"unsure\" when the top probability is below {threshold:.4g} ({chosen}); "
              "predict.py uses each format's own, below." if threshold else
              "- Threshold: none (always the top class)."]
    lines += ["", "## Each format against the app"]
    if checks:
        check = next(iter(checks.values()))
        fitted = (f", its threshold fitted on {check['fitted_on']} validation photos to give the app's decisions"
                  if check["fitted_on"] else "")
        lines += [f"Measured at export on {check['photos']} {check['split']} photos the model never trained on: each "
                  f"format run by predict.py's own code{fitted}; its decision (the class, or \"unsure\" below "
                  "its threshold) compared with the app's.", "",
                  "| format | threshold | same decision as the app |", "|---|---|---|"]
        lines += [f"| {name} | {thresholds[name] or 0:.6g} | {c['agreement']:.1%} of {c['photos']} |"
                  for name, c in checks.items()]
    else:
        lines += ["Not measured: no held-out photo of the run was readable at export. Every format answers "
                  "\"unsure\" below the threshold above."]
    lines += ["", "## How to call it",
              "Input: ONE decoded photo as uint8 RGB, shape (1, H, W, 3), any H and W (a batch must share one size). "
              "Output: float32 (1, classes) probabilities in the order of labels.json.",
              "The model resizes (bilinear to 4x the side, then a 4x4 average: an anti-aliased squash to "
              f"{' and '.join(f'{s.size}x{s.size}' for s in run['views'])}, aspect ratio not kept) and normalises "
              "by itself.", "",
              "What the caller must do: decode the file (JPEG, PNG, WebP, ...), apply its EXIF orientation "
              "(Pillow: `ImageOps.exif_transpose`), take the first frame of an animation, composite transparency on "
              "white and convert to RGB. Nothing else: no resize, no scaling.", "",
              "```", "python predict.py photo.jpg                # Keras (needs keras + tensorflow)",
              "python predict.py photo.jpg --format tflite  # or tflite-int8 (ai-edge-litert or tensorflow)",
              "python predict.py photo.jpg --format onnx    # onnxruntime", "```", "", "## Files"]
    for name, status in formats.items():
        lines.append(f"- `{FORMAT_FILES[name]}`: " + (status if status.startswith("not included") else
                                                      f"{name} ({status})"))
    lines += ["- `labels.json`: class names in output order", "- `predict.py`: the example above", ""]
    return "\n".join(lines)


def export_bundle(run_dir, out, *, photos: list | None = None, held_out: dict | None = None,
                  edited_threshold: float | None = None, dataset: dict | None = None, counts: dict | None = None,
                  on_step: Callable[[str], None] | None = None) -> dict:
    """Write the bundle zip of `run_dir` to `out` (atomically). `photos`: training photos for the int8
    calibration (default: training_photos(run_dir); none readable: no int8 file, the card says why). `held_out`:
    {"validation": paths, "test": paths} on which each format's decisions are checked against the app's (up to
    HELD_OUT_PHOTOS of each; default: held_out_photos(run_dir)). `edited_threshold`: a person's edit of the run's
    threshold (None: the one chosen on validation). `dataset`: {"name": ...} and `counts` ({split: {label:
    count}}, default: from the run's features.json) for the card. Returns {"path", "bytes", "formats": {format:
    "ok, ..." | "not included: why"}, "checks": {format: {"threshold", "agreement", "photos", "split",
    "fitted_on"}} ({} when no held-out photo was readable)}.
    """
    from classifier.model_io import build_photo_model, load_head, load_run

    step = on_step or (lambda message: None)
    run_dir, out = Path(run_dir), Path(out)
    run = load_run(run_dir)
    calibrated = "calibration" in json.loads((run_dir / "model.json").read_text())  # older runs have none
    threshold = effective_threshold(float(run["calibration"]["threshold"]), edited_threshold)
    # Every format computes in float32: TFLite and ONNX have no bfloat16 kernels for the backbone's ops, so a
    # bfloat16 run's bundle is its float32 twin (same weights); each format's agreement with the app is measured.
    views = [replace(view, precision="float32") for view in run["views"]]
    model = build_photo_model(views, load_head(run_dir))
    photos = training_photos(run_dir) if photos is None else list(photos)
    held_out = held_out_photos(run_dir) if held_out is None else held_out
    report_path = run_dir / "report.json"
    report = json.loads(report_path.read_text()) if report_path.is_file() else None
    formats: dict = {}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        step("model.keras")
        model.save(folder / FORMAT_FILES["keras"])
        formats["keras"] = "ok"
        step("SavedModel for the converters")
        _saved_model(model, folder / "saved_model")
        step("TFLite float32")
        (folder / FORMAT_FILES["tflite"]).write_bytes(_tflite(folder / "saved_model", None))
        formats["tflite"] = "ok"
        if photos:
            step(f"TFLite int8 (calibrating on up to {REPRESENTATIVE_PHOTOS} training photos)")
            (folder / FORMAT_FILES["tflite-int8"]).write_bytes(_tflite(folder / "saved_model", photos))
            formats["tflite-int8"] = (f"ok, int8 weights and activations (softmax in float) calibrated on up to "
                                      f"{min(len(photos), REPRESENTATIVE_PHOTOS)} training photos")
        else:
            formats["tflite-int8"] = "not included: no training photo was readable for the int8 calibration"
        step("ONNX")
        try:
            _onnx(model, folder / FORMAT_FILES["onnx"])
            formats["onnx"] = "ok, runs in onnxruntime"
        except Exception as exc:  # tf2onnx/onnx missing or a conversion error: ship the rest, say why
            formats["onnx"] = f"not included: {type(exc).__name__}: {exc}"
        present = [name for name, status in formats.items() if status.startswith("ok")]
        step("Checking every format's decisions against the app's on held-out photos")
        checks = _check_formats(folder, present, run_dir, threshold, held_out)
        thresholds = {name: checks[name]["threshold"] if name in checks else threshold for name in present}
        files = {FORMAT_FILES[name]: (folder / FORMAT_FILES[name]).read_bytes() for name in present}
        files["labels.json"] = json.dumps(run["class_names"], indent=2).encode()
        script = (Path(__file__).parent / "bundle_predict.py").read_text()
        files["predict.py"] = script.replace("THRESHOLDS = {}", f"THRESHOLDS = {thresholds!r}", 1).encode()
        for name in present:
            formats[name] += f", {len(files[FORMAT_FILES[name]]):,} bytes"
            if name in checks:
                formats[name] += (f"; the app's decision on {checks[name]['agreement']:.1%} of "
                                  f"{checks[name]['photos']} {checks[name]['split']} photos")
        created = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        files["MODEL_CARD.md"] = _card(run, dataset=dataset or {}, counts=counts or _dataset_counts(run_dir),
                                       report=report, formats=formats, calibrated=calibrated, created=created,
                                       threshold=threshold, thresholds=thresholds, checks=checks).encode()
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(out, suffix=".zip") as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in files.items():
                archive.writestr(name, data)
    return {"path": out, "bytes": os.path.getsize(out), "formats": formats, "checks": checks}
