"""A trained run on disk: head.keras + model.json (+ history.json, report.json), and the standalone export."""

import json
from pathlib import Path

from classifier.features import FeatureSpec, model_input, views
from classifier.files import atomic_path, atomic_write
from classifier.head import HeadConfig


def write_json(path: Path, data) -> None:
    atomic_write(path, json.dumps(data, indent=2))


def _without_optimizer(model):
    """The model with its weights but not its optimizer state: RMSprop keeps one slot per weight (half of a
    saved head: 25 of 50 MB on MobileNetV2's 7x7 maps) that no prediction, evaluation or export reads."""
    if getattr(model, "optimizer", None) is None:
        return model
    plain = model.__class__.from_config(model.get_config())
    plain.set_weights(model.get_weights())
    return plain


def save_run(run_dir, *, head, spec: FeatureSpec | list[FeatureSpec], class_names: list[str],
             config: HeadConfig | None, history: list[dict] | None = None, report: dict | None = None,
             best_epoch: int | None = None, recipe: str = "article", calibration: dict | None = None,
             search: dict | None = None) -> Path:
    """Write head.keras, model.json (class names, spec, the views the head takes, recipe, config or the search's
    choice, best epoch, temperature and unsure threshold), history.json, report.json. `spec`: the main view, or
    the list of views (the main one first)."""
    specs = views(spec)
    spec = specs[0]
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    _without_optimizer(head).save(run_dir / "head.keras")
    write_json(run_dir / "model.json", {
        "class_names": list(class_names),
        "spec": spec.to_dict(),
        "views": [s.to_dict() for s in specs],  # the head's inputs, in order: the same photo at each input size
        "recipe": recipe,
        "config": config.to_dict() if config is not None else None,
        "chosen": (search or {}).get("chosen"),
        "best_epoch": best_epoch if best_epoch is not None else len(history or []),
        "input_size": spec.size,
        # softmax(log p / temperature) is the calibrated confidence; below `threshold` the answer is "unsure"
        "calibration": calibration or {"temperature": 1.0, "threshold": 0.0},
    })
    if history is not None:
        write_json(run_dir / "history.json", history)
    if report is not None:
        write_json(run_dir / "report.json", report)
    return run_dir


def load_run(run_dir) -> dict:
    """model.json plus `spec` as a FeatureSpec, `views` as a list of them (the main one first; runs saved before
    views existed have one) and `config` as a HeadConfig (None for a searched head); runs saved before
    calibration existed get temperature 1 and threshold 0 (never unsure)."""
    meta = json.loads((Path(run_dir) / "model.json").read_text())
    return meta | {"spec": FeatureSpec.from_dict(meta["spec"]),
                   "views": [FeatureSpec.from_dict(d) for d in meta.get("views") or [meta["spec"]]],
                   "recipe": meta.get("recipe", "article"),
                   "config": HeadConfig.from_dict(meta["config"]) if meta.get("config") else None,
                   "calibration": meta.get("calibration") or {"temperature": 1.0, "threshold": 0.0}}


def load_head(run_dir, *, calibrated: bool = True):
    """The head keras.Model; calibrated, its final softmax layer's weights are divided by the run's temperature:
    softmax(z / T), so every path (evaluation, prediction, the export) gives the calibrated probabilities."""
    import keras

    head = keras.saving.load_model(Path(run_dir) / "head.keras", compile=False)
    temperature = load_run(run_dir)["calibration"]["temperature"] if calibrated else 1.0
    if temperature != 1.0:
        final = head.layers[-1]  # Dense with softmax: the article's head and the recommended one alike
        kernel, bias = final.get_weights()
        final.set_weights([kernel / temperature, bias / temperature])
    return head


def build_full_model(spec: FeatureSpec | list[FeatureSpec], head):
    """Resized RGB image (N, S, S, 3) float 0-255 (classifier.preprocessing) -> probabilities: backbone
    preprocessing + backbone + head, built-in layers only. With several views, a list of images: the same photos
    resized to each view's size."""
    import keras

    from classifier.features import feature_model

    specs = views(spec)
    images = [keras.Input((s.size, s.size, 3), name="image" if i == 0 else f"image_{i}")
              for i, s in enumerate(specs)]
    features = [feature_model(s)[0](x) for s, x in zip(specs, images)]
    return keras.Model(model_input(images), head(model_input(features)), name="classifier")


def build_photo_model(spec: FeatureSpec | list[FeatureSpec], head):
    """Decoded RGB photo (N, H, W, 3) uint8 of any size -> probabilities: the app's resize layers (once per
    view), then build_full_model. What the export bundle ships."""
    import keras

    from classifier.preprocessing import resize_layers

    specs = views(spec)
    photos = keras.Input((None, None, 3), dtype="uint8", name="photo")
    resized = []
    for i, s in enumerate(specs):
        x = photos
        for layer in resize_layers(s.size, name_suffix=f"_{i}" if i else ""):
            x = layer(x)
        resized.append(x)
    return keras.Model(photos, build_full_model(specs, head)(model_input(resized)), name="photo_classifier")


def export_model(run_dir) -> Path:
    """Write model.keras next to model.json (build_photo_model): loadable with plain keras.saving.load_model, no
    project code."""
    run = load_run(run_dir)
    path = Path(run_dir) / "model.keras"
    model = build_photo_model(run["views"], load_head(run_dir))
    with atomic_path(path, suffix=".keras") as tmp:  # keras wants the .keras suffix
        model.save(tmp)
    return path
