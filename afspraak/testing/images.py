"""Pictures for tests of uploads: as a phone writes them, with where they were taken."""

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
