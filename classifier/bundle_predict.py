"""Run this bundle on photos: `python predict.py PHOTO [PHOTO ...] [--format keras|tflite|tflite-int8|onnx]`.

Prints one JSON line per photo: {"photo", "label", "top", "confidence", "probabilities": {class: p}}; "top" is the
best class, "label" the decision: the top class, or "unsure" when the confidence is below the threshold of the
format (MODEL_CARD.md: each format's threshold and how often it gives the app's decision).
Needs numpy and Pillow, plus the format's runtime: keras + tensorflow (keras), ai-edge-litert or tensorflow
(tflite, tflite-int8), onnxruntime (onnx). The caller's part is only: decode the photo, apply its EXIF orientation,
RGB uint8 at any size; the model resizes and normalises by itself.
(This file is copied into every export bundle as predict.py; it needs nothing else from the project.)
"""

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

HERE = Path(__file__).resolve().parent
# {format: the (calibrated) confidence below which the answer is "unsure"}; written by the export
THRESHOLDS = {}
FILES = {"keras": "model.keras", "tflite": "model_float32.tflite", "tflite-int8": "model_int8.tflite",
         "onnx": "model.onnx"}


# The app's own rule (classifier/decision.py), copied: this file must run without the project; a test checks the copy.
def rank(probabilities, names: list[str], threshold: float | None, top_k: int | None = None) -> dict:
    """{"label": the best class, "confidence": its probability, "decision": "confident", or "unsure" below
    `threshold` (None: never; `label` is then only the top candidate), "threshold", "probabilities": [{"label",
    "probability"}] best first (ties in class order), the `top_k` first (None: all)}."""
    p = np.asarray(probabilities, dtype="float64")
    order = np.argsort(-p, kind="stable")[:top_k]
    ranked = [{"label": names[c], "probability": float(p[c])} for c in order]
    confidence = ranked[0]["probability"]
    unsure = threshold is not None and confidence < threshold
    return {"label": ranked[0]["label"], "confidence": confidence, "decision": "unsure" if unsure else "confident",
            "threshold": threshold, "probabilities": ranked}


def load_photo(path) -> np.ndarray:
    """uint8 (H, W, 3): first frame, EXIF orientation applied, transparency composited on white, RGB."""
    with Image.open(path) as image:
        image.load()
        image = ImageOps.exif_transpose(image)
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
        return np.asarray(image.convert("RGB"), dtype="uint8")


def keras_model(path):
    import keras

    model = keras.saving.load_model(path, compile=False)
    return lambda photo: np.asarray(model.predict_on_batch(photo[None]))[0]


def tflite_model(path):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    interpreter = Interpreter(model_path=str(path))
    image, = interpreter.get_input_details()
    output, = interpreter.get_output_details()

    def run(photo):
        interpreter.resize_tensor_input(image["index"], (1, *photo.shape))  # any photo size
        interpreter.allocate_tensors()
        interpreter.set_tensor(image["index"], photo[None])
        interpreter.invoke()
        return interpreter.get_tensor(output["index"])[0]

    return run


def onnx_model(path):
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda photo: session.run(None, {name: photo[None]})[0][0]


LOADERS = {"keras": keras_model, "tflite": tflite_model, "tflite-int8": tflite_model, "onnx": onnx_model}


def answer(model, path, labels: list[str], threshold: float | None) -> dict:
    """One photo's JSON line: its decision ("label"), best class ("top"), confidence and class probabilities."""
    probabilities = np.asarray(model(load_photo(path)), dtype="float64")
    ranked = rank(probabilities, labels, threshold)
    return {"photo": str(path), "label": "unsure" if ranked["decision"] == "unsure" else ranked["label"],
            "top": ranked["label"], "confidence": ranked["confidence"],
            "probabilities": {label: float(p) for label, p in zip(labels, probabilities)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", nargs="+", type=Path)
    parser.add_argument("--format", choices=list(FILES), default="keras")
    args = parser.parse_args()
    labels = json.loads((HERE / "labels.json").read_text())
    model = LOADERS[args.format](HERE / FILES[args.format])
    for path in args.photos:
        print(json.dumps(answer(model, path, labels, THRESHOLDS.get(args.format))))


if __name__ == "__main__":
    main()
