"""Opening and checking images (one rule for the CLI, the workers and the web app's imports), and the one image
loading path shared by extraction, evaluation and prediction (decode, orient, RGB). No TensorFlow."""

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from classifier.files import content_hash  # noqa: F401  (re-exported: callers hash images from here)

# Larger images are refused as decompression bombs (a few KB of PNG can claim gigapixels). The web app may lower it
# for imports (settings.DATASETS_MAX_IMAGE_PIXELS) but never needs to raise it: this is what extraction accepts.
MAX_PIXELS = 40_000_000  # e.g. 8000 x 5000
# Accepted formats (Pillow's name) -> the extension a stored file gets. MPO is how Pillow names many cameras' JPEGs.
FORMAT_EXTENSIONS = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "WEBP": ".webp", "BMP": ".bmp", "GIF": ".gif"}
# File names the CLI picks up in a folder and upload forms accept.
IMAGE_SUFFIXES = frozenset(FORMAT_EXTENSIONS.values()) | {".jpeg"}


class ImageError(ValueError):
    """An image that cannot be used. `reason` says why (shown to users); the message also names the file."""

    def __init__(self, reason: str, name: str | None = None):
        self.reason, self.name = reason, name
        super().__init__(f"{name}: {reason}" if name else reason)


@contextmanager
def open_image(data: bytes, name: str | None = None, *, max_pixels: int | None = None) -> Iterator[Image.Image]:
    """The opened (not yet decoded) Pillow image of `data`, after the checks every image passes: not empty, a
    format we accept, at most `max_pixels` (default MAX_PIXELS). Errors while the block decodes it (truncated,
    damaged) also become ImageError."""
    if not data:
        raise ImageError("empty file (0 bytes)", name)
    limit = max_pixels or MAX_PIXELS
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb check warns (then errors) far above our limit; make its warning an error too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format not in FORMAT_EXTENSIONS:
                    allowed = ", ".join(sorted(FORMAT_EXTENSIONS))
                    raise ImageError(f"unsupported format {image.format} (allowed: {allowed})", name)
                width, height = image.size
                if width * height > limit:
                    raise ImageError(f"too many pixels: {width}x{height} is over the limit of {limit:,} pixels "
                                     "(possible decompression bomb)", name)
                yield image
    except ImageError:
        raise
    except Image.UnidentifiedImageError:
        raise ImageError("not an image, or its header is corrupt", name) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"too many pixels: over the limit of {limit:,} pixels (possible decompression bomb; "
                         f"{exc})", name) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as exc:
        raise ImageError(f"damaged or truncated image ({exc})", name) from None


def _read(source, name: str | None) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), name or "<bytes>"
    try:
        return Path(source).read_bytes(), name or str(source)
    except OSError as exc:
        raise ImageError(f"cannot read file ({exc.strerror or exc})", name or str(source)) from exc


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


def decode(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """uint8 (H, W, 3) RGB at the photo's own size (first frame, EXIF orientation applied) from encoded bytes;
    ImageError naming `name` when unusable. The resize to a model's input is classifier.preprocessing's."""
    with open_image(data, name) as image:
        image.load()  # GIF/WebP animations: the first frame
        image = _to_rgb(ImageOps.exif_transpose(image))
        return np.asarray(image, dtype="uint8")


def load_image(source: str | Path | bytes, *, name: str | None = None) -> np.ndarray:
    """uint8 (H, W, 3) RGB from a path or bytes: what the export bundle's caller passes too (decode, EXIF-rotate)."""
    data, label = _read(source, name)
    return decode(data, label)


def is_image_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def longer_sides(paths) -> list[int]:
    """The longer side in pixels of each readable image (header only, no decode); unreadable ones are left out.
    What classifier.recipes.feature_specs sizes the recommended recipe's views by."""
    sides = []
    for path in paths:
        try:
            with Image.open(path) as image:
                sides.append(max(image.size))
        except (OSError, ValueError, Image.DecompressionBombError):
            continue
    return sides
