"""Checking uploaded photos and making thumbnails, with Pillow only (the web process never imports TensorFlow).

`image_check(data)` decodes the whole image once: that catches truncated and damaged files, refuses formats we do
not store and images with too many pixels (decompression bombs) before they are decoded, and returns the
thumbnail made from the same decoded pixels.
"""

import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from PIL import Image as PILImage
from PIL import ImageOps, UnidentifiedImageError

from webapp.datasets.models import FORMAT_EXTENSIONS

DEFAULT_MAX_IMAGE_PIXELS = 40_000_000  # e.g. 8000 x 5000
DEFAULT_THUMBNAIL_SIZE = 256


class ImageRejected(Exception):
    """One file is not a usable photo; the message is the reason shown to the user."""


@dataclass(frozen=True)
class CheckedImage:
    extension: str  # from the detected format, never from the file name
    width: int  # after EXIF orientation, as people see it
    height: int
    thumbnail: bytes  # JPEG


def max_image_pixels() -> int:
    return int(getattr(settings, "DATASETS_MAX_IMAGE_PIXELS", DEFAULT_MAX_IMAGE_PIXELS))


def image_check(data: bytes) -> CheckedImage:
    """Decode `data` fully; raise ImageRejected with a readable reason when it is not a usable photo."""
    if not data:
        raise ImageRejected("empty file (0 bytes)")
    limit = max_image_pixels()
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb check warns (then errors) far above our limit; make its warning an error too.
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data)) as image:
                if image.format not in FORMAT_EXTENSIONS:
                    allowed = ", ".join(sorted(FORMAT_EXTENSIONS))
                    raise ImageRejected(f"unsupported format {image.format} (allowed: {allowed})")
                width, height = image.size
                if width * height > limit:
                    raise ImageRejected(
                        f"too many pixels: {width}x{height} is over the limit of {limit:,} pixels "
                        "(possible decompression bomb)"
                    )
                image.load()
                return CheckedImage(
                    extension=FORMAT_EXTENSIONS[image.format], **_oriented_thumbnail(image)
                )
    except ImageRejected:
        raise
    except UnidentifiedImageError:
        raise ImageRejected("not an image (or an image format Pillow cannot read)") from None
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
        raise ImageRejected(
            f"too many pixels: over the limit of {limit:,} pixels (possible decompression bomb; {exc})"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as exc:
        raise ImageRejected(f"damaged or truncated image ({exc})") from None


def _oriented_thumbnail(image: PILImage.Image) -> dict:
    size = int(getattr(settings, "DATASETS_THUMBNAIL_SIZE", DEFAULT_THUMBNAIL_SIZE))
    oriented = ImageOps.exif_transpose(image)
    width, height = oriented.size
    if oriented.mode in ("RGBA", "LA") or (oriented.mode == "P" and "transparency" in oriented.info):
        rgba = oriented.convert("RGBA")
        thumb = PILImage.new("RGB", rgba.size, (255, 255, 255))
        thumb.paste(rgba, mask=rgba.getchannel("A"))
    else:
        thumb = oriented.convert("RGB")
    thumb.thumbnail((size, size), reducing_gap=2.0)
    out = io.BytesIO()
    thumb.save(out, format="JPEG", quality=85)
    return {"width": width, "height": height, "thumbnail": out.getvalue()}
