"""Access to ../shared (real photos and ImageNet weights) for the tests that need it.

On a fresh user machine those tests skip with the reason; CI sets MENAGERIE_REQUIRE_SHARED=1 so that they fail
instead when the data is missing.
"""

import os
from pathlib import Path

import pytest

REPO_DIR = Path(__file__).resolve().parent.parent
MOBILENET_V2_LEGACY_FILE = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"


def shared_dir() -> Path:
    return Path(os.environ.get("MENAGERIE_SHARED_DIR", REPO_DIR.parent / "shared"))


def shared_path(*parts: str) -> Path:
    """Path under ../shared, or skip (fail in CI) when it is not there."""
    path = shared_dir().joinpath(*parts)
    if not path.exists():
        reason = f"needs {path} (the shared datasets and weights; set MENAGERIE_SHARED_DIR to their folder)"
        if os.environ.get("MENAGERIE_REQUIRE_SHARED") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return path
