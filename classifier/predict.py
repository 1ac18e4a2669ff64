"""Predictions for new images with a trained run: backbone + head, built once and reused."""

from pathlib import Path

import numpy as np

from classifier.decision import effective_threshold, rank
from classifier.features import model_input
from classifier.images import load_image
from classifier.model_io import build_full_model, load_head, load_run
from classifier.preprocessing import resize_image


class Predictor:
    def __init__(self, model, class_names: list[str], input_size: int | list[int], batch_size: int = 32, *,
                 threshold: float = 0.0):
        self.model = model
        self.class_names = list(class_names)
        # one size per view the model takes (the main one first); a model of several views takes a list of images
        self.sizes = list(input_size) if isinstance(input_size, (list, tuple)) else [input_size]
        self.input_size = self.sizes[0]
        self.batch_size = batch_size
        self.threshold = threshold  # calibrated confidence below which the answer is "unsure"

    @classmethod
    def from_run_dir(cls, run_dir) -> "Predictor":
        run = load_run(run_dir)
        model = build_full_model(run["views"], load_head(run_dir))
        return cls(model, run["class_names"], [s.size for s in run["views"]],
                   threshold=run["calibration"]["threshold"])

    def resized(self, photo: np.ndarray) -> list[np.ndarray]:
        """A decoded uint8 photo resized to each view's size (the photo itself is not kept: it may be big)."""
        return [resize_image(photo, size) for size in self.sizes]

    def model_inputs(self, resized: list[list[np.ndarray]]):
        """Photos' `resized` views -> what the model takes: one batch array, or a list of them (one per view)."""
        return model_input([np.stack([r[v] for r in resized]) for v in range(len(self.sizes))])

    def probabilities(self, sources: list, names: list[str] | None = None) -> np.ndarray:
        """(N, classes) float32, calibrated when the model is (load_head folds the run's temperature in);
        ImageError naming the image (`names[i]`, else its path or "image #i") for one that cannot be read."""
        out = []
        for start in range(0, len(sources), self.batch_size):
            chunk = sources[start:start + self.batch_size]
            resized = [self.resized(load_image(s, name=self._name(s, start + i, names))) for i, s in enumerate(chunk)]
            out.append(np.asarray(self.model.predict_on_batch(self.model_inputs(resized)), dtype="float32"))
        return np.concatenate(out) if out else np.zeros((0, len(self.class_names)), "float32")

    @staticmethod
    def _name(source, index: int, names: list[str] | None) -> str | None:
        if names:
            return names[index]
        return None if isinstance(source, (str, Path)) else f"image #{index + 1}"

    def predict(self, sources: list, top_k: int | None = None, names: list[str] | None = None,
                threshold: float | None = None) -> list[dict]:
        """Per image: the best class, its calibrated confidence, the decision ("confident", or "unsure" below
        the threshold: then `label` is only the top candidate) and the class probabilities sorted descending
        (top_k). `threshold` overrides the model's own (a person edited it); None keeps the model's."""
        threshold = effective_threshold(self.threshold, threshold)
        return [rank(p, self.class_names, threshold, top_k) for p in self.probabilities(sources, names)]
