"""Precision `auto`: bfloat16 where it runs the backbone faster on this CPU, float32 elsewhere.

Whether bfloat16 pays depends on the CPU (AVX512-BF16 or AMX: often ~2x faster; AVX2 alone: emulated, slower), so
it is measured, not guessed from CPU flags: the backbone (random weights: same FLOPs) on a preloaded batch in each
precision. A worker measures once per backbone and reports it to the registry; the CLI measures once per backbone
and CPU and keeps the answer in its cache folder (precision.json)."""

import json
import platform
import time
from pathlib import Path

from classifier.backbones import PRECISIONS, get_backbone
from classifier.sizing import usable_cores

AUTO = "auto"
CHOICES = (AUTO, *PRECISIONS)
MIN_GAIN = 1.1  # bfloat16 only when clearly faster: a noisy tie keeps float32 (no rounding, caches shared)


def measure(backbone: str, *, input_size: int = 224, batch_size: int = 8, repeats: int = 2) -> dict[str, float]:
    """Images/s of the backbone in each precision on one preloaded batch (best of `repeats` after a warm-up)."""
    import numpy as np

    from classifier.features import FeatureSpec, feature_model

    batch = np.random.default_rng(0).integers(0, 255, (batch_size, input_size, input_size, 3)).astype("uint8")
    speeds = {}
    for precision in PRECISIONS:
        _, run = feature_model(FeatureSpec(backbone, weights=None, precision=precision, input_size=input_size))
        run(batch).numpy()  # trace and warm up
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            run(batch).numpy()
            best = min(best, time.perf_counter() - start)
        speeds[precision] = round(batch_size / best, 3)
    return speeds


def choose(speeds: list[dict[str, float]]) -> tuple[str, str]:
    """(precision, why) from the measurements of the machines that may run the job (chunks are shared between
    them, and every chunk must use one precision): bfloat16 only when each of them measured it faster."""
    measured = [s for s in speeds if s.get("float32") and s.get("bfloat16")]
    if not measured:
        return "float32", "auto: float32, no measurement of bfloat16 on this backbone yet"
    slowest = min(measured, key=lambda s: s["bfloat16"] / s["float32"])
    ratio = slowest["bfloat16"] / slowest["float32"]
    figures = f"bfloat16 {slowest['bfloat16']:.1f} vs float32 {slowest['float32']:.1f} images/s"
    if ratio >= MIN_GAIN:
        return "bfloat16", f"auto: bfloat16, {ratio:.2f}x faster ({figures})"
    return "float32", f"auto: float32, bfloat16 not clearly faster ({ratio:.2f}x: {figures})"


def cpu_id() -> str:
    """What a cached measurement is valid for: the CPU model and the cores this process may use."""
    model = platform.processor()
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{model} x{usable_cores()}"


def resolve_cached(precision: str, backbone: str, cache_dir: str | Path | None,
                   input_size: int | None = None) -> tuple[str, str]:
    """The CLI's `--precision`: itself unless auto; auto from the measurement kept in `cache_dir`/precision.json
    for this backbone, input size and CPU, measured now (seconds) and kept when there is none."""
    if precision != AUTO:
        return precision, "asked for"
    path = Path(cache_dir) / "precision.json" if cache_dir else None
    size = input_size or get_backbone(backbone).input_size
    key = f"{backbone} {size}px on {cpu_id()}"
    known = {}
    if path and path.is_file():
        try:
            known = json.loads(path.read_text())
        except (OSError, ValueError):
            known = {}
    if key not in known:
        known[key] = measure(backbone, input_size=size)
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(known, indent=1))
    return choose([known[key]])
