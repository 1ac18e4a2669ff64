"""The one image loading path shared by extraction, evaluation, prediction (decode, orient, RGB, resize)."""

import hashlib
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

# Larger images are refused as decompression bombs (a few KB of PNG can claim gigapixels).
MAX_PIXELS = 64_000_000
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"}


class ImageError(ValueError):
    """An image that cannot be used; the message names the file and the reason."""


def _read(source, name: str | None) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), name or "<bytes>"
    try:
        return Path(source).read_bytes(), name or str(source)
    except OSError as exc:
        raise ImageError(f"{name or source}: cannot read file ({exc.strerror or exc})") from exc


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")  # composite on white: transparent pixels are usually background
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode in ("I", "I;16", "I;16B", "F"):  # 16-bit / float grayscale: scale to 8 bits first
        values = np.asarray(image, dtype="float32")
        values = 255 * (values - values.min()) / max(float(values.max() - values.min()), 1e-6)
        return Image.fromarray(values.astype("uint8")).convert("RGB")
    return image.convert("RGB")


def decode(data: bytes, size: int, name: str = "<bytes>") -> np.ndarray:
    """uint8 (size, size, 3) from encoded image bytes; ImageError naming `name` when unusable."""
    if not data:
        raise ImageError(f"{name}: empty file (0 bytes)")
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ImageError(f"{name}: refused as a decompression bomb ({width}x{height} pixels, "
                                 f"limit {MAX_PIXELS})")
            image.draft("RGB", (size, size))  # JPEG: decode at a reduced scale that is still >= size
            image.load()  # GIF/WebP animations: the first frame
            image = ImageOps.exif_transpose(image)
            image = _to_rgb(image).resize((size, size), Image.BILINEAR)
            return np.asarray(image, dtype="uint8")
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{name}: refused as a decompression bomb ({exc})") from exc
    except Image.UnidentifiedImageError as exc:
        raise ImageError(f"{name}: not an image file, or its header is corrupt") from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ImageError(f"{name}: corrupt or truncated image ({exc})") from exc


def load_image(source: str | Path | bytes, size: int, *, name: str | None = None) -> np.ndarray:
    """uint8 (size, size, 3) RGB from a path or bytes: the same pixels everywhere an image enters a model."""
    data, label = _read(source, name)
    return decode(data, size, label)


def content_hash(source: str | Path | bytes) -> str:
    """sha256 hex of the file's bytes: the image's identity in the feature cache."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return hashlib.sha256(source).hexdigest()
    digest = hashlib.sha256()
    with open(source, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_image_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")
