"""Uploaded pictures (an organization's logo, a user's avatar): checked, then served as is.

Pillow is not a runtime dependency, so only PNG, JPEG and still WebP are taken,
recognised by their signature (never by the file's name), and their size read from
the header: anything else, or a header that does not parse, is refused (an animated
WebP too: a logo or a face does not move). Nothing here decodes pixels. The bytes are
stored as uploaded and served with their own type, ``nosniff`` and a CSP that runs
nothing, so the browser's own decoder is the only one that reads them.
"""

import struct
from dataclasses import dataclass

from django.http import HttpResponse

from afspraak.errors import DomainError

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers (baseline, progressive...), which carry the image's size.
_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# WebP's extended header flags an animation with this bit.
_WEBP_ANIMATION = 0x02
# A versioned address never changes content; an old version (an e-mail read later)
# gets today's content, kept briefly.
CACHE_IMMUTABLE = "public, max-age=31536000, immutable"
CACHE_BRIEFLY = "public, max-age=300"
# The picture is an image and nothing else: no script, no style, no frame, no plugin.
_IMAGE_CSP = "default-src 'none'; img-src 'self'; style-src 'none'; sandbox"


class ImageError(DomainError):
    """An uploaded picture that cannot be used, with the reason for the person who chose it."""


@dataclass(frozen=True)
class CheckedImage:
    content_type: str
    width: int
    height: int


def _png_size(data: bytes) -> tuple[int, int]:
    # The first chunk must be IHDR: length 13, then width and height.
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise ImageError("The PNG file is damaged: its header could not be read.")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _jpeg_size(data: bytes) -> tuple[int, int]:
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            break
        marker = data[position + 1]
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        if marker in _JPEG_FRAMES and position + 9 <= len(data):
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            return width, height
        position += 2 + length
    raise ImageError("The JPEG file is damaged: its size could not be read.")


def _is_webp(data: bytes) -> bool:
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"


def _webp_size(data: bytes, noun: str) -> tuple[int, int]:
    # RIFF header (12 bytes), then the first chunk: VP8X (extended), VP8L (lossless) or
    # "VP8 " (lossy), each with the canvas size at its own place.
    damaged = ImageError("The WebP file is damaged: its size could not be read.")
    if len(data) < 30 or struct.unpack("<I", data[4:8])[0] + 8 != len(data):
        raise damaged
    chunk = data[12:16]
    if chunk == b"VP8X":
        if data[20] & _WEBP_ANIMATION:
            raise ImageError(f"The {noun} must be a still image, not an animation.")
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    if chunk == b"VP8L" and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    raise damaged


def inspect_image(data: bytes, *, noun: str, max_bytes: int, max_side: int) -> CheckedImage:
    """Return the type and size of an uploaded picture; refuse all but a sane PNG, JPEG or WebP."""
    if len(data) > max_bytes:
        raise ImageError(f"The {noun} is larger than {max_bytes // 1024} KB.")
    if data.startswith(_PNG_SIGNATURE):
        content_type, (width, height) = "image/png", _png_size(data)
    elif data.startswith(b"\xff\xd8\xff"):
        content_type, (width, height) = "image/jpeg", _jpeg_size(data)
    elif _is_webp(data):
        content_type, (width, height) = "image/webp", _webp_size(data, noun)
    else:
        raise ImageError(f"The {noun} must be a PNG, JPEG or WebP image.")
    if not (1 <= width <= max_side and 1 <= height <= max_side):
        raise ImageError(f"The {noun} must be between 1 and {max_side} pixels wide and high.")
    return CheckedImage(content_type, width, height)


# What a camera or an editor writes beside the pixels (where and when a photo was taken,
# the device, the author), dropped from a person's picture before anyone may fetch it.
_JPEG_METADATA = frozenset({0xE1, 0xED, 0xFE})  # APP1 (Exif, XMP), APP13 (IPTC), comments
_PNG_METADATA = frozenset({b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"})
_WEBP_METADATA = frozenset({b"EXIF", b"XMP "})
# VP8X flags that announce the EXIF and XMP chunks.
_WEBP_METADATA_FLAGS = 0x08 | 0x04
_EXIF_ORIENTATION = 0x0112


def _exif_orientation(exif: bytes) -> int:
    # An APP1 Exif segment's body: "Exif\0\0", then a TIFF header and its first directory.
    if not exif.startswith(b"Exif\x00\x00") or len(exif) < 16:
        return 1
    tiff = exif[6:]
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None:
        return 1
    (directory,) = struct.unpack(order + "I", tiff[4:8])
    if directory + 2 > len(tiff):
        return 1
    (count,) = struct.unpack(order + "H", tiff[directory : directory + 2])
    for index in range(count):
        entry = tiff[directory + 2 + 12 * index : directory + 14 + 12 * index]
        if len(entry) < 12:
            break
        tag, kind, _, value = struct.unpack(order + "HHIH", entry[:10])
        if tag == _EXIF_ORIENTATION and kind == 3 and 1 <= value <= 8:
            return int(value)
    return 1


def _orientation_segment(orientation: int) -> bytes:
    # The smallest Exif block that still turns the picture as the camera held it.
    body = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08" + struct.pack(
        ">HHHIHHI", 1, _EXIF_ORIENTATION, 3, 1, orientation, 0, 0
    )
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def _jpeg_without_metadata(data: bytes) -> bytes:
    damaged = ImageError("The JPEG file is damaged: its segments could not be read.")
    kept, orientation, position = [data[:2]], 1, 2
    while True:
        if position + 4 > len(data) or data[position] != 0xFF:
            raise damaged
        marker = data[position + 1]
        if marker == 0xDA:  # Start of scan: compressed pixels follow, no more metadata.
            kept.append(data[position:])
            break
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        end = position + 2 + length
        if length < 2 or end > len(data):
            raise damaged
        if marker in _JPEG_METADATA:
            orientation = max(orientation, _exif_orientation(data[position + 4 : end]))
        else:
            kept.append(data[position:end])
        position = end
    if orientation != 1:
        kept.insert(1, _orientation_segment(orientation))
    return b"".join(kept)


def _png_without_metadata(data: bytes) -> bytes:
    kept, position = [data[:8]], 8
    while position < len(data):
        if position + 12 > len(data):
            raise ImageError("The PNG file is damaged: its chunks could not be read.")
        (length,) = struct.unpack(">I", data[position : position + 4])
        end = position + 12 + length
        if end > len(data):
            raise ImageError("The PNG file is damaged: its chunks could not be read.")
        if data[position + 4 : position + 8] not in _PNG_METADATA:
            kept.append(data[position:end])
        position = end
    return b"".join(kept)


def _webp_without_metadata(data: bytes) -> bytes:
    kept, position = [], 12
    while position + 8 <= len(data):
        chunk = data[position : position + 4]
        (length,) = struct.unpack("<I", data[position + 4 : position + 8])
        end = position + 8 + length + (length & 1)
        if end > len(data):
            raise ImageError("The WebP file is damaged: its chunks could not be read.")
        if chunk == b"VP8X":
            flags = data[position + 8] & ~_WEBP_METADATA_FLAGS
            kept.append(data[position : position + 8] + bytes([flags]) + data[position + 9 : end])
        elif chunk not in _WEBP_METADATA:
            kept.append(data[position:end])
        position = end
    body = b"WEBP" + b"".join(kept)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def without_metadata(data: bytes, image: CheckedImage) -> bytes:
    """Return a checked picture without its Exif, XMP, IPTC and text (a JPEG keeps its turn)."""
    if image.content_type == "image/jpeg":
        return _jpeg_without_metadata(data)
    if image.content_type == "image/png":
        return _png_without_metadata(data)
    return _webp_without_metadata(data)


def image_response(data: bytes, content_type: str, *, current: bool) -> HttpResponse:
    """Answer with a checked picture: its own type, no sniffing, a CSP that runs nothing."""
    response = HttpResponse(data, content_type=content_type)
    # ``current``: the address names this content's hash, so it never changes.
    response["Cache-Control"] = CACHE_IMMUTABLE if current else CACHE_BRIEFLY
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = _IMAGE_CSP
    return response
