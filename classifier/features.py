"""Bottleneck features: a streaming extraction pipeline and an on-disk cache, one file per image per spec."""

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np

from classifier.backbones import (POOLINGS, PRECISIONS, STAGES, build_feature_model, feature_shape,
                                  get_backbone, weights_identity)
from classifier.files import atomic_path
from classifier.images import ImageError, decode
from classifier.preprocessing import PREPROCESSING_VERSION

CACHE_FORMAT = "v1"  # bump when the cache's file layout changes


@dataclass(frozen=True)
class FeatureSpec:
    backbone: str
    weights: str | None = "imagenet"
    pooling: str | None = None
    precision: str = "float32"
    input_size: int | None = None
    stage: str = "output"  # or "top_input": the maps at the input of the last block (pooling must be None)

    def __post_init__(self):
        get_backbone(self.backbone)
        if self.stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}, got {self.stage!r}")
        if self.stage == "top_input" and self.pooling is not None:
            raise ValueError("features at stage 'top_input' are maps: pooling must be None")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be None or 'avg', got {self.pooling!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")

    @property
    def size(self) -> int:
        return self.input_size or get_backbone(self.backbone).input_size

    @property
    def key(self) -> str:
        """Cache folder name: preprocessing version, backbone, input size, pooling, precision and the weights'
        content id (features made with another resize are never mixed in)."""
        pooling = self.pooling or (f"top.{get_backbone(self.backbone).top_block}" if self.stage == "top_input"
                                   else "maps")
        weights = weights_identity(self.backbone, self.weights)
        return (f"{CACHE_FORMAT}-{PREPROCESSING_VERSION}-{self.backbone}-{self.size}-{pooling}-{self.precision}-"
                f"{weights}")

    @property
    def shape(self) -> tuple:
        return feature_shape(self.backbone, self.pooling, self.size, self.stage)

    def to_dict(self) -> dict:
        return {"backbone": self.backbone, "weights": self.weights, "pooling": self.pooling,
                "precision": self.precision, "input_size": self.size, "stage": self.stage}

    @classmethod
    def from_dict(cls, d: dict) -> "FeatureSpec":
        return cls(**{k: d.get(k) for k in ("backbone", "weights", "pooling", "precision", "input_size")},
                   stage=d.get("stage") or "output")


@dataclass(frozen=True)
class PooledSpec:
    """The pooled features the last block (with its taps, classifier.backbones.load_top_block) makes of a
    "top_input" spec's maps: what the recommended recipe's linear head reads. Cached beside the maps (a FeatureStore
    needs only `key` and `shape`), so a retrain on cached maps pools nothing again. `width`: the block's output."""
    maps: FeatureSpec
    width: int

    @property
    def key(self) -> str:
        return f"{self.maps.key}-pooled"

    @property
    def shape(self) -> tuple:
        return (self.width,)


class FeatureStore(Protocol):
    """The feature cache as extraction, training and the estimates use it: features by (spec, content hash).
    FeatureCache (a folder) is the CLI's; the workers pass one on object storage with a bounded local copy
    (webapp.core.storage.feature_store), without touching extraction."""

    def has(self, spec: FeatureSpec, content_hash: str) -> bool: ...

    def missing(self, spec: FeatureSpec, hashes: list[str]) -> list[str]: ...

    def save(self, spec: FeatureSpec, content_hash: str, feature: np.ndarray) -> None: ...

    def load(self, spec: FeatureSpec, hashes: list[str]) -> np.ndarray: ...


class FeatureCache:
    """A FeatureStore in a folder: root/<spec.key>/<hash[:2]>/<hash>.npy; writes go to a unique temp file, then
    os.replace (atomic)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path(self, spec: FeatureSpec, content_hash: str) -> Path:
        return self.root / spec.key / content_hash[:2] / f"{content_hash}.npy"

    def has(self, spec: FeatureSpec, content_hash: str) -> bool:
        return self.path(spec, content_hash).is_file()

    def missing(self, spec: FeatureSpec, hashes: list[str]) -> list[str]:
        return [h for h in hashes if not self.has(spec, h)]

    def save(self, spec: FeatureSpec, content_hash: str, feature: np.ndarray) -> None:
        path = self.path(spec, content_hash)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.save(f, np.asarray(feature, dtype="float32"))

    def load(self, spec: FeatureSpec, hashes: list[str]) -> np.ndarray:
        """Stacked float32 features in the order of `hashes` (KeyError naming the first one not cached)."""
        out = np.empty((len(hashes), *spec.shape), dtype="float32")
        for i, h in enumerate(hashes):
            out[i] = self.read(spec, h)
        return out

    def read(self, spec: FeatureSpec, content_hash: str) -> np.ndarray:
        """One cached feature (KeyError when it is not cached)."""
        try:
            return np.load(self.path(spec, content_hash))
        except FileNotFoundError:
            raise KeyError(f"feature of {content_hash} not in cache {self.root / spec.key}") from None


@dataclass
class Skipped:
    content_hash: str
    path: str
    reason: str


@dataclass
class ExtractionReport:
    total: int = 0
    cached: int = 0
    extracted: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    cancelled: bool = False
    seconds: float = 0.0


def _decoded_batches(paths: list, sizes: list[int], batch_size: int):
    """Batches of photos read, decoded (Pillow) and resized to each size (one decode per photo, however many views)
    by one thread per core, a batch at a time: the caller runs the backbone on the batch before the next is
    decoded. Decoding and the backbone take turns on every core instead of overlapping: overlapped, the decode
    threads preempt the backbone's thread pool, whose every op then waits for its slowest thread (issue 24: 0.49 of
    the limit on a 2-core AVX-512 machine); taking turns reaches 1 / (1/decode + 1/compute) on any CPU.

    Yields (tuple of float32 arrays (B, S, S, 3), one per size; errors: one string per photo, empty when it
    decoded)."""
    from concurrent.futures import ThreadPoolExecutor

    from classifier.preprocessing import resizer
    from classifier.sizing import decode_threads

    resizes = [resizer(size) for size in sizes]
    blank = tuple(np.zeros((size, size, 3), "float32") for size in sizes)

    def load(path):
        name = str(path)
        try:
            image = decode(Path(path).read_bytes(), name)
        except ImageError as exc:
            return blank, str(exc)
        except OSError as exc:
            return blank, f"{name}: cannot read file ({exc})"
        return tuple(resize(image).numpy() for resize in resizes), ""

    with ThreadPoolExecutor(decode_threads(), thread_name_prefix="decode") as pool:
        for start in range(0, len(paths), batch_size):
            loaded = list(pool.map(load, paths[start:start + batch_size]))
            yield tuple(np.stack([views[v] for views, _ in loaded]) for v in range(len(sizes))), [e for _, e in loaded]


_models: dict = {}


def feature_model(spec: FeatureSpec):
    """The spec's raw-image -> features model with a compiled call, built once per process."""
    import tensorflow as tf

    if spec not in _models:
        model = build_feature_model(spec.backbone, weights=spec.weights, pooling=spec.pooling,
                                    precision=spec.precision, input_size=spec.size, stage=spec.stage)
        _models[spec] = (model, tf.function(lambda x: model(x, training=False), reduce_retracing=True,
                                            autograph=False))
    return _models[spec]


def views(spec: FeatureSpec | Sequence[FeatureSpec]) -> list[FeatureSpec]:
    """One spec or several (a run's views of each photo, classifier.recipes.feature_specs) as a list."""
    return [spec] if isinstance(spec, FeatureSpec) else list(spec)


def per_view(x) -> list:
    """Features of one view (an array) or of several (a list of arrays) as a list, one entry per view."""
    return list(x) if isinstance(x, (list, tuple)) else [x]


def model_input(per_view_inputs: list):
    """per_view's inverse: one entry per view as a Keras model of that many inputs takes them, the entry itself
    for one view, the list for several."""
    return per_view_inputs[0] if len(per_view_inputs) == 1 else list(per_view_inputs)


def load_views(cache: FeatureStore, specs: FeatureSpec | Sequence[FeatureSpec], hashes: list[str]):
    """Cached features as a run's head takes them: one array for one view, a list of arrays (one per view) for
    several."""
    return model_input([cache.load(spec, hashes) for spec in views(specs)])


def extract(items: list[tuple[str, str | Path]], spec: FeatureSpec | Sequence[FeatureSpec], cache: FeatureStore, *,
            batch_size: int = 32, on_progress: Callable[[int, int], None] | None = None,
            should_cancel: Callable[[], bool] | None = None) -> ExtractionReport:
    """Features of the items `(content_hash, path)` not yet cached, written to the cache batch by batch. With
    several specs (views of each photo at other input sizes), each photo is read once and every view's features
    are written; progress counts photos.

    Memory is one batch of images and features in flight, whatever the number of items."""
    start = time.monotonic()
    specs = views(spec)
    unique = dict(items)  # the same content under two paths is extracted once
    missing = set().union(*(cache.missing(s, list(unique)) for s in specs))  # one query per view, not per photo
    todo = [(h, p) for h, p in unique.items() if h in missing]  # p: a path, or a path-like that fetches it
    report = ExtractionReport(total=len(unique), cached=len(unique) - len(todo))
    done = report.cached
    if on_progress:
        on_progress(done, report.total)
    if todo:
        runs = [feature_model(s)[1] for s in specs]
        batches = _decoded_batches([p for _, p in todo], [s.size for s in specs], batch_size)
        for index, (images, errors) in enumerate(batches):
            if should_cancel and should_cancel():
                report.cancelled = True
                break
            chunk = todo[index * batch_size:(index + 1) * batch_size]
            good = [i for i, e in enumerate(errors) if not e]
            report.skipped += [Skipped(h, str(p), errors[i]) for i, (h, p) in enumerate(chunk) if errors[i]]
            for view, run, view_images in zip(specs, runs, images):
                if not good:
                    break
                features = run(view_images[good] if len(good) < len(chunk) else view_images).numpy()
                for i, feature in zip(good, features):
                    cache.save(view, chunk[i][0], feature)
            report.extracted += len(good)
            done += len(chunk)
            if on_progress:
                on_progress(done, report.total)
    report.seconds = time.monotonic() - start
    return report
