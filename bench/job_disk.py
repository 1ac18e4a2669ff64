"""What one trained job keeps on disk: head.keras (the trained head) and model.keras (the exported photo model:
resize + backbone + head), per backbone, with the article's head on the backbone's 7x7 maps (the default set-up)
and on pooled features. Random-init backbones (weights=None): the sizes are the same as with ImageNet weights.

    .venv/bin/python bench/job_disk.py [backbone ...]
"""

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from classifier.backbones import feature_shape
from classifier.features import FeatureSpec
from classifier.head import HeadConfig, build_head
from classifier.model_io import export_model, save_run


def measure(backbone: str, pooling: str | None, classes: int = 10) -> tuple[int, int]:
    spec = FeatureSpec(backbone=backbone, weights=None, pooling=pooling)
    config = HeadConfig()
    head = build_head(feature_shape(backbone, pooling), classes, config)
    with tempfile.TemporaryDirectory() as folder:
        save_run(folder, head=head, spec=spec, class_names=[f"c{i}" for i in range(classes)], config=config)
        export_model(folder)
        return (Path(folder) / "head.keras").stat().st_size, (Path(folder) / "model.keras").stat().st_size


def main(backbones: list[str]) -> None:
    print(f"{'backbone':<16}{'pooling':<9}{'head.keras':>12}{'model.keras':>13}")
    for backbone in backbones:
        for pooling in (None, "avg"):
            head, model = measure(backbone, pooling)
            print(f"{backbone:<16}{pooling or 'maps':<9}{head / 1e6:>10.1f}MB{model / 1e6:>11.1f}MB")


if __name__ == "__main__":
    main(sys.argv[1:] or ["mobilenet_v2", "vgg16"])
