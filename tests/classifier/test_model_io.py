"""A saved run keeps the trained head's weights, not its optimizer's state (half of the file, never read again)."""

import io
import zipfile

import h5py
import numpy as np

from classifier.features import FeatureSpec
from classifier.head import HeadConfig
from classifier.model_io import load_head, save_run
from classifier.train import train


def test_a_saved_head_has_its_weights_and_no_optimizer_state(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 64)).astype("float32"), np.arange(30) % 3
    config = HeadConfig(hidden=(16,), dropout=(0.1,), epochs=2, batch_size=10)
    result = train(x, y, x[:6], y[:6], num_classes=3, config=config)
    spec = FeatureSpec(backbone="mobilenet_v2", weights=None, pooling="avg", input_size=32)
    save_run(tmp_path, head=result.model, spec=spec, class_names=["a", "b", "c"], config=config)

    weights = zipfile.ZipFile(tmp_path / "head.keras").read("model.weights.h5")
    names = []
    h5py.File(io.BytesIO(weights), "r").visit(names.append)
    assert any(name.startswith("layers/") for name in names)
    assert not any(name.startswith("optimizer") for name in names), names
    expected = result.model.predict(x, verbose=0)
    assert np.allclose(load_head(tmp_path, calibrated=False).predict(x, verbose=0), expected, atol=1e-6)
