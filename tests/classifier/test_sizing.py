"""classifier.sizing's extraction estimate: its table is the Keras models' own shapes, it is at least the memory
extraction really takes (measured in a fresh process), and the batch is lowered to what fits (issue 23, item 3)."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from classifier.backbones import BACKBONES
from classifier.sizing import (BACKBONE_PARAMETERS, PEAK_ACTIVATIONS_224, extraction_batch_size,
                               extraction_footprint)

REPO_DIR = Path(__file__).resolve().parents[2]


def _peak_live_outputs(model) -> int:
    """Floats alive at once at the worst layer when the layers run in order, one image: each layer's output
    lives until its last consumer has run."""
    layers = model.operations
    last_use = {}
    for index, layer in enumerate(layers[1:], start=1):
        for tensor in layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]:
            producer = tensor._keras_history.operation.name
            last_use[producer] = max(last_use.get(producer, 0), index)
    alive, peak = {}, 0
    for index, layer in enumerate(layers):
        alive[layer.name] = math.prod(layer.output.shape[1:])
        peak = max(peak, sum(alive.values()))
        alive = {name: size for name, size in alive.items() if last_use.get(name, 0) > index}
    return peak


@pytest.mark.parametrize("name", list(BACKBONES))
def test_the_activation_table_is_the_backbones_own_shapes(name):
    import keras

    model = getattr(keras.applications, BACKBONES[name].constructor)(include_top=False, weights=None,
                                                                     input_shape=(224, 224, 3))
    assert PEAK_ACTIVATIONS_224[name] == _peak_live_outputs(model)
    assert BACKBONE_PARAMETERS[name] == model.count_params()


@pytest.mark.slow  # bench/memory.py in a fresh process
def test_the_estimate_is_at_least_the_measured_peak_of_a_small_extraction():
    """bench/memory.py's child process: a random-init MobileNetV2 at 320 px, batches of 4, 8 photos."""
    done = subprocess.run([sys.executable, str(REPO_DIR / "bench" / "memory.py"), "--json", "--size", "320",
                           "--batch", "4", "--photos", "8", "--photo-side", "480"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    estimate, measured = result["estimate"], result["measured"]
    assert measured["extraction_bytes"] > 50 * 2**20  # it did measure something
    assert estimate["extraction_bytes"] >= measured["extraction_bytes"]
    assert estimate["total_bytes"] >= measured["build_bytes"] + measured["extraction_bytes"]


def test_the_extraction_estimate_grows_with_the_side_squared_and_the_batch():
    small = extraction_footprint(backbone="vgg16", sizes=[224], batch_size=8, threads=2)
    large = extraction_footprint(backbone="vgg16", sizes=[1024], batch_size=8, threads=2)
    assert large.activations_bytes == pytest.approx(small.activations_bytes * (1024 / 224) ** 2)
    # the job: VGG16 at 1024 px in batches of 32 holds over 10 GB of activations alone
    assert extraction_footprint(backbone="vgg16", sizes=[1024], batch_size=32, threads=2).activations_bytes > 10e9
    assert (extraction_footprint(backbone="vgg16", sizes=[224], batch_size=16, threads=2).total_bytes
            > small.total_bytes)


def test_the_batch_is_lowered_to_what_fits_or_none_when_one_photo_does_not_fit():
    sizes, gib = [1024], 2**30
    assert extraction_batch_size(backbone="mobilenet_v2", sizes=[224], limit_bytes=8 * gib, preferred=32,
                                 threads=2) == 32
    lowered = extraction_batch_size(backbone="mobilenet_v2", sizes=sizes, limit_bytes=8 * gib, preferred=32,
                                    threads=2)
    assert 1 <= lowered < 32
    fits = extraction_footprint(backbone="mobilenet_v2", sizes=sizes, batch_size=lowered, threads=2)
    too_big = extraction_footprint(backbone="mobilenet_v2", sizes=sizes, batch_size=lowered + 1, threads=2)
    assert fits.total_bytes <= 8 * gib < too_big.total_bytes
    assert extraction_batch_size(backbone="mobilenet_v2", sizes=sizes, limit_bytes=gib // 2, preferred=32,
                                 threads=2) is None
