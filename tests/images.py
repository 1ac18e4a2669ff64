"""Small generated photos for tests: a class colour plus seeded noise, so that classes are learnable by colour
and every photo has its own content (and content hash)."""

import io

import numpy as np
from PIL import Image


def noisy_pixels(colour, seed: int, size: int = 40, noise: float = 25.0, width: int | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = (size, width or size, 3)
    return np.clip(np.array(colour) + rng.normal(0, noise, shape), 0, 255).astype("uint8")


def jpeg_bytes(colour, seed: int, size: int = 40, noise: float = 25.0) -> bytes:
    out = io.BytesIO()
    Image.fromarray(noisy_pixels(colour, seed, size, noise)).save(out, "JPEG", quality=90)
    return out.getvalue()
