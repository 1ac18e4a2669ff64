"""Run this bundle on photos: `python predict.py PHOTO [PHOTO ...] [--format keras|tflite|tflite-int8|onnx]`.

Prints one JSON line per photo: {"photo", "label", "top", "confidence", "probabilities": {class: p}}; "label" is
the top class, or "unsure" when the confidence is below the model's threshold (if it has one).
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
THRESHOLD = 0.0  # below this (calibrated) confidence the answer is "unsure"; written by the export
FILES = {"keras": "model.keras", "tflite": "model_float32.tflite", "tflite-int8": "model_int8.tflite",
         "onnx": "model.onnx"}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", nargs="+", type=Path)
    parser.add_argument("--format", choices=list(FILES), default="keras")
    args = parser.parse_args()
    labels = json.loads((HERE / "labels.json").read_text())
    load = {"keras": keras_model, "tflite": tflite_model, "tflite-int8": tflite_model, "onnx": onnx_model}
    model = load[args.format](HERE / FILES[args.format])
    for path in args.photos:
        probabilities = np.asarray(model(load_photo(path)), dtype="float64")
        best = int(probabilities.argmax())
        confidence = float(probabilities[best])
        unsure = confidence < THRESHOLD
        print(json.dumps({"photo": str(path), "label": "unsure" if unsure else labels[best],
                          "top": labels[best], "confidence": confidence,
                          "probabilities": {label: float(p) for label, p in zip(labels, probabilities)}}))


if __name__ == "__main__":
    main()
