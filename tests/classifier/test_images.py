import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from classifier.images import ImageError, content_hash, load_image


def _encoded(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


RED = (220, 20, 20)


@pytest.mark.parametrize("fmt,mode", [("JPEG", "RGB"), ("PNG", "RGBA"), ("PNG", "P"), ("PNG", "L"),
                                      ("PNG", "I;16"), ("WEBP", "RGB"), ("BMP", "RGB"), ("GIF", "P"),
                                      ("JPEG", "CMYK")])
def test_formats_and_modes_become_rgb_uint8_at_their_own_size(fmt, mode):
    image = Image.new("RGB", (50, 30), RED)
    if mode == "L":
        image = image.convert("L")
    elif mode == "I;16":
        image = Image.fromarray(np.full((30, 50), 40000, dtype="uint16"))
    elif mode != "RGB":
        image = image.convert(mode)
    pixels = load_image(_encoded(image, fmt))
    assert pixels.shape == (30, 50, 3) and pixels.dtype == np.uint8
    if mode in ("RGB", "RGBA", "P", "CMYK"):
        np.testing.assert_allclose(pixels.reshape(-1, 3).mean(0), RED, atol=12)


def test_transparent_pixels_become_white():
    pixels = load_image(_encoded(Image.new("RGBA", (8, 8), (0, 0, 0, 0)), "PNG"))
    assert (pixels == 255).all()


def test_gif_uses_the_first_frame():
    frames = [Image.new("RGB", (16, 16), c).convert("P") for c in (RED, (20, 20, 220))]
    data = _encoded(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert load_image(data).reshape(-1, 3).mean(0)[0] > 150


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (40, 20), RED)
    image.paste((20, 20, 220), (20, 0, 40, 20))  # left red, right blue
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": red ends up on top
    pixels = load_image(_encoded(image, "JPEG", exif=exif)).astype(int)
    assert pixels.shape == (40, 20, 3)  # rotated: taller than wide
    assert pixels[5, 10, 0] > 150 and pixels[5, 10, 2] < 100
    assert pixels[35, 10, 2] > 150 and pixels[35, 10, 0] < 100


def _png_claiming_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height: decoding it for real would need gigabytes."""
    data = bytearray(_encoded(Image.new("1", (8, 8)), "PNG"))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


@pytest.mark.parametrize("data,reason", [
    (b"", "empty"),
    (b"this is a text file, not a picture", "not an image"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "header is corrupt"),
    (_png_claiming_size(100_000, 100_000), "decompression bomb"),
])
def test_bad_images_raise_image_error_naming_the_file(tmp_path, data, reason):
    path = tmp_path / "bad.jpg"
    path.write_bytes(data)
    with pytest.raises(ImageError, match=reason) as error:
        load_image(path)
    assert str(path) in str(error.value)


def test_truncated_jpeg_is_an_image_error(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype="uint8")
    data = _encoded(Image.fromarray(pixels), "JPEG")
    with pytest.raises(ImageError, match="upload.jpg: damaged or truncated"):
        load_image(data[: len(data) // 2], name="upload.jpg")


def test_missing_file_is_an_image_error(tmp_path):
    with pytest.raises(ImageError, match="cannot read"):
        load_image(tmp_path / "nope.png")


def test_content_hash_is_the_same_for_path_and_bytes(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"abc")
    assert content_hash(path) == content_hash(b"abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
