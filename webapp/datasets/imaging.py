"""Checking uploaded photos and making thumbnails, with Pillow only (the web process never imports TensorFlow).

`image_check(data)` opens the image with the classifier's own checks (classifier.images.open_image: accepted
formats, the pixel limit against decompression bombs), decodes it fully (catching truncated and damaged files)
and returns the thumbnail made from the same decoded pixels.
"""

import io
from dataclasses import dataclass

from django.conf import settings
from PIL import Image as PILImage
from PIL import ImageOps

from classifier.images import FORMAT_EXTENSIONS, open_image

@dataclass(frozen=True)
class CheckedImage:
    extension: str  # from the detected format, never from the file name
    width: int  # after EXIF orientation, as people see it
    height: int
    thumbnail: bytes  # JPEG


def image_check(data: bytes) -> CheckedImage:
    """Decode `data` fully; raise ImageError with a readable reason when it is not a usable photo."""
    with open_image(data, max_pixels=settings.DATASETS_MAX_IMAGE_PIXELS) as image:
        image.load()
        return CheckedImage(extension=FORMAT_EXTENSIONS[image.format], **_oriented_thumbnail(image))


def _oriented_thumbnail(image: PILImage.Image) -> dict:
    size = settings.DATASETS_THUMBNAIL_SIZE
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
