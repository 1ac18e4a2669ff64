"""A trained run on disk: head.keras + model.json (+ history.json, report.json), and the standalone export."""

import json
from pathlib import Path

from classifier.features import FeatureSpec
from classifier.files import atomic_path, atomic_write
from classifier.head import HeadConfig


def write_json(path: Path, data) -> None:
    atomic_write(path, json.dumps(data, indent=2))


def save_run(run_dir, *, head, spec: FeatureSpec, class_names: list[str], config: HeadConfig,
             history: list[dict] | None = None, report: dict | None = None, best_epoch: int | None = None) -> Path:
    """Write head.keras, model.json (class names, spec, config, best epoch), history.json, report.json."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    head.save(run_dir / "head.keras")
    write_json(run_dir / "model.json", {
        "class_names": list(class_names),
        "spec": spec.to_dict(),
        "config": config.to_dict(),
        "best_epoch": best_epoch if best_epoch is not None else len(history or []),
        "input_size": spec.size,
    })
    if history is not None:
        write_json(run_dir / "history.json", history)
    if report is not None:
        write_json(run_dir / "report.json", report)
    return run_dir


def load_run(run_dir) -> dict:
    """model.json plus `spec` as a FeatureSpec and `config` as a HeadConfig."""
    meta = json.loads((Path(run_dir) / "model.json").read_text())
    return meta | {"spec": FeatureSpec.from_dict(meta["spec"]), "config": HeadConfig.from_dict(meta["config"])}


def load_head(run_dir):
    import keras

    return keras.saving.load_model(Path(run_dir) / "head.keras", compile=False)


def build_full_model(spec: FeatureSpec, head):
    """Resized RGB image (N, S, S, 3) float 0-255 (classifier.preprocessing) -> probabilities: backbone
    preprocessing + backbone + head, built-in layers only."""
    import keras

    from classifier.features import feature_model

    features, _ = feature_model(spec)
    images = keras.Input((spec.size, spec.size, 3), name="image")
    return keras.Model(images, head(features(images)), name="classifier")


def build_photo_model(spec: FeatureSpec, head):
    """Decoded RGB photo (N, H, W, 3) uint8 of any size -> probabilities: the app's resize layers, then
    build_full_model. What the export bundle ships."""
    import keras

    from classifier.preprocessing import resize_layers

    photos = keras.Input((None, None, 3), dtype="uint8", name="photo")
    x = photos
    for layer in resize_layers(spec.size):
        x = layer(x)
    return keras.Model(photos, build_full_model(spec, head)(x), name="photo_classifier")


def export_model(run_dir) -> Path:
    """Write model.keras next to model.json (build_photo_model): loadable with plain keras.saving.load_model, no
    project code."""
    run = load_run(run_dir)
    path = Path(run_dir) / "model.keras"
    model = build_photo_model(run["spec"], load_head(run_dir))
    with atomic_path(path, suffix=".keras") as tmp:  # keras wants the .keras suffix
        model.save(tmp)
    return path
