"""The portable export bundle of a run: one zip that serves the model without this project.

model.keras (decoded RGB uint8 photo of any size -> probabilities: classifier.preprocessing's resize, the backbone,
the head with the run's temperature, as the Predictor), labels.json (class order), MODEL_CARD.md, TFLite float32
and int8, ONNX, and predict.py (classifier/bundle_predict.py). Every format is converted from the same Keras
model, which is the app's own computation (build_photo_model), so the bundle answers as the app does.
"""

import json
import os
import tempfile
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from classifier.files import atomic_path
from classifier.images import ImageError, load_image

FORMAT_FILES = {"keras": "model.keras", "tflite": "model_float32.tflite", "tflite-int8": "model_int8.tflite",
                "onnx": "model.onnx"}
REPRESENTATIVE_PHOTOS = 100  # int8 calibration: enough for stable activation ranges, a few seconds per 10


def training_photos(run_dir, limit: int = REPRESENTATIVE_PHOTOS) -> list[Path]:
    """Up to `limit` training photos of the run that are still readable here (features.json), spread over the
    classes by taking them in content-hash order; [] when the run lists none."""
    path = Path(run_dir) / "features.json"
    if not path.is_file():
        return []
    items = sorted((i for i in json.loads(path.read_text())["items"] if i["split"] == "train"),
                   key=lambda i: i["hash"])
    return [Path(i["path"]) for i in items if Path(i["path"]).is_file()][:limit]


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
    if photos is not None:  # int8 weights and activations, float where an op has no int8 kernel; I/O unchanged
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = _representative(photos, REPRESENTATIVE_PHOTOS)
    return converter.convert()


def _card(run: dict, *, dataset: dict, counts: dict, report: dict | None, formats: dict, calibrated: bool,
          created: str) -> str:
    spec, config = run["spec"], run["config"]
    sizes = " + ".join(str(s.size) for s in run["views"])  # several: the same photo at each size, side by side
    temperature, threshold = run["calibration"]["temperature"], run["calibration"]["threshold"]
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
              f"- Threshold: answer \"unsure\" when the top probability is below {threshold:.4g} (predict.py does)."
              if threshold else "- Threshold: none (always the top class)."]
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


def export_bundle(run_dir, out, *, photos: list | None = None, dataset: dict | None = None,
                  counts: dict | None = None, on_step: Callable[[str], None] | None = None) -> dict:
    """Write the bundle zip of `run_dir` to `out` (atomically). `photos`: training photos for the int8
    calibration (default: training_photos(run_dir); none readable: no int8 file, the card says why). `dataset`:
    {"name": ...} and `counts` ({split: {label: count}}, default: from the run's features.json) for the card.
    Returns {"path", "bytes", "formats": {format: "ok, N bytes" | "not included: why"}}.
    """
    from classifier.model_io import build_photo_model, load_head, load_run

    step = on_step or (lambda message: None)
    run_dir, out = Path(run_dir), Path(out)
    run = load_run(run_dir)
    calibrated = "calibration" in json.loads((run_dir / "model.json").read_text())  # older runs have none
    model = build_photo_model(run["views"], load_head(run_dir))
    photos = training_photos(run_dir) if photos is None else list(photos)
    report_path = run_dir / "report.json"
    report = json.loads(report_path.read_text()) if report_path.is_file() else None
    formats: dict = {}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        files = {"labels.json": json.dumps(run["class_names"], indent=2).encode()}
        step("model.keras")
        model.save(folder / "model.keras")
        files["model.keras"] = (folder / "model.keras").read_bytes()
        formats["keras"] = "ok"
        step("SavedModel for the converters")
        _saved_model(model, folder / "saved_model")
        step("TFLite float32")
        files[FORMAT_FILES["tflite"]] = _tflite(folder / "saved_model", None)
        formats["tflite"] = "ok"
        if photos:
            step(f"TFLite int8 (calibrating on up to {REPRESENTATIVE_PHOTOS} training photos)")
            files[FORMAT_FILES["tflite-int8"]] = _tflite(folder / "saved_model", photos)
            formats["tflite-int8"] = (f"ok, int8 weights and activations calibrated on up to "
                                      f"{min(len(photos), REPRESENTATIVE_PHOTOS)} training photos")
        else:
            formats["tflite-int8"] = "not included: no training photo was readable for the int8 calibration"
        step("ONNX")
        try:
            _onnx(model, folder / "model.onnx")
            files[FORMAT_FILES["onnx"]] = (folder / "model.onnx").read_bytes()
            formats["onnx"] = "ok, runs in onnxruntime"
        except Exception as exc:  # tf2onnx/onnx missing or a conversion error: ship the rest, say why
            formats["onnx"] = f"not included: {type(exc).__name__}: {exc}"
        script = (Path(__file__).parent / "bundle_predict.py").read_text()
        threshold = float(run["calibration"]["threshold"])
        files["predict.py"] = script.replace("THRESHOLD = 0.0", f"THRESHOLD = {threshold!r}", 1).encode()
        created = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        for name, status in formats.items():
            if name in FORMAT_FILES and FORMAT_FILES[name] in files and status.startswith("ok"):
                formats[name] = f"{status}, {len(files[FORMAT_FILES[name]]):,} bytes"
        files["MODEL_CARD.md"] = _card(run, dataset=dataset or {}, counts=counts or _dataset_counts(run_dir),
                                       report=report, formats=formats, calibrated=calibrated, created=created).encode()
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(out, suffix=".zip") as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in files.items():
                archive.writestr(name, data)
    return {"path": out, "bytes": os.path.getsize(out), "formats": formats}
