"""Pictures for tests of uploads: plain ones, and as a phone writes them."""

import io

from PIL import Image
from PIL.PngImagePlugin import PngInfo


def photo_with_metadata(kind: str, size: tuple[int, int] = (40, 30)) -> bytes:
    """Return a picture as a phone writes it: Exif with where it was taken, and a turn."""
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: turned 90° clockwise.
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(0x8825)[2] = (52.0, 22.0, 7.0)  # GPS latitude.
    buffer = io.BytesIO()
    picture = Image.new("RGB", size, (10, 120, 60))
    options: dict[str, object] = {"exif": exif.tobytes()}
    if kind == "PNG":
        info = PngInfo()
        info.add_text("Author", "Hanna de Vries, Keizersgracht 1")
        options["pnginfo"] = info
    picture.save(buffer, format=kind, **options)
    return buffer.getvalue()


def picture(kind: str = "PNG", size: tuple[int, int] = (96, 96), **options: object) -> bytes:
    """Return a sound picture of ``kind`` (PNG, JPEG, WEBP …) without metadata."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (20, 80, 160)).save(buffer, format=kind, **options)
    return buffer.getvalue()
