"""Image size and format from the encoded bytes, without decoding pixels.

``PIL.Image.open`` only parses the header, so reading ``size``, ``format`` and the EXIF orientation costs
microseconds and leaves the bytes untouched; the dataset stores those bytes exactly as they are on disk.

Orientation: Ultralytics reads images with ``cv2.imread``, which applies the EXIF orientation, and its
labels are normalized against that *displayed* image (``ultralytics.data.utils.exif_size``). ``datasets``'
``Image`` feature applies ``ImageOps.exif_transpose`` when it decodes. So ``width``/``height`` here are the
displayed size: width and height are swapped when the EXIF orientation is 5, 6, 7 or 8 (a 90° rotation),
for every format. (Ultralytics decodes WebP/TIFF to find out, because OpenCV builds differ there; we follow
Pillow's ``exif_transpose``, which is what ``datasets`` shows the user; a test checks that the header size
equals the decoded size for JPEG, PNG, WebP and TIFF.)
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

from PIL import Image

from ..errors import DatasetFormatError

__all__ = ["IMG_FORMATS", "ImageHeader", "read_image_header", "is_image_file"]

logger = logging.getLogger(__name__)

#: Image suffixes Ultralytics trains on (``ultralytics.data.utils.IMG_FORMATS``), lower case, without the dot.
IMG_FORMATS: frozenset[str] = frozenset(
    {"avif", "bmp", "dng", "heic", "heif", "jp2", "jpeg", "jpg", "mpo", "png", "tif", "tiff", "webp"}
)
# Pillow's names for those formats (``Image.format``), plus JPEG 2000 which Pillow calls "JPEG2000".
_PIL_FORMATS = frozenset(IMG_FORMATS | {"jpeg2000"})
_ROTATED_ORIENTATIONS = frozenset({5, 6, 7, 8})
_EXIF_ORIENTATION = 274
_MIN_SIDE = 10  # Ultralytics rejects images under 10 pixels on a side


@dataclass(frozen=True)
class ImageHeader:
    """What the header of an encoded image says.

    Attributes:
        width: Displayed width in pixels (after the EXIF orientation).
        height: Displayed height in pixels (after the EXIF orientation).
        format: Pillow's format name in lower case (``"jpeg"``, ``"png"``, ...).
        truncated_jpeg: True for a JPEG whose last two bytes are not the end-of-image marker ``FFD9``.
    """

    width: int
    height: int
    format: str
    truncated_jpeg: bool = False


def is_image_file(name: str) -> bool:
    """Return True when ``name``'s suffix is one of Ultralytics' image formats (case-insensitive)."""
    return name.rpartition(".")[-1].lower() in IMG_FORMATS


def read_image_header(data: bytes, source: str, *, verify: bool = True) -> ImageHeader:
    """Read size and format from encoded image bytes without decoding the pixels.

    Args:
        data: The encoded file content.
        source: File name used in error messages.
        verify: Also run Pillow's ``verify()`` (chunk CRCs for PNG, structure checks elsewhere; no decode).

    Returns:
        The header facts.

    Raises:
        DatasetFormatError: The bytes are not a readable image, are in a format Ultralytics does not train
            on, or the image is smaller than 10 pixels on a side.
    """
    fast = _jpeg_header(data)
    if fast is not None:
        width, height, orientation, fmt = fast
        return _finish(data, source, width, height, orientation, fmt)
    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt = (im.format or "").lower()
            width, height = _stored_size(im)
            orientation = _orientation(im)
            if verify:
                im.verify()
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types; Ultralytics' Image.open patch adds more
        # (once ultralytics is imported, an unidentified image makes it try to install pi-heif first)
        raise DatasetFormatError(
            f"{source}: corrupt or unreadable image ({exc.__class__.__name__}: {exc}). "
            "Fix: re-export the image from its original, or delete it together with its label file "
            "(or pass strict=False to skip it)."
        ) from exc
    return _finish(data, source, width, height, orientation, fmt)


def _finish(data: bytes, source: str, width: int, height: int, orientation: int | None, fmt: str) -> ImageHeader:
    """Check format and size, apply the orientation, flag truncated JPEGs."""
    if fmt not in _PIL_FORMATS:
        raise DatasetFormatError(
            f"{source}: image format {fmt.upper() or 'unknown'} is not supported by Ultralytics. "
            f"Fix: convert it to one of {sorted(IMG_FORMATS)} (or pass strict=False to skip it)."
        )
    if orientation in _ROTATED_ORIENTATIONS:
        width, height = height, width
    if width < _MIN_SIDE or height < _MIN_SIDE:
        raise DatasetFormatError(
            f"{source}: image is {width}x{height} pixels; Ultralytics needs at least {_MIN_SIDE} on each side. "
            "Fix: remove the image and its label file (or pass strict=False to skip it)."
        )
    truncated = fmt in {"jpeg", "mpo"} and not data.endswith(b"\xff\xd9")
    return ImageHeader(width=width, height=height, format=fmt, truncated_jpeg=truncated)


_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # start-of-frame (not DHT, JPG, DAC)


def _jpeg_header(data: bytes) -> tuple[int, int, int | None, str] | None:
    """``(width, height, orientation, format)`` from JPEG markers, or None to let Pillow decide.

    Walks the marker segments up to the start of scan, checking their lengths (what Pillow's JPEG ``open``
    checks, in a tenth of the time), reads the frame size and the first EXIF block's orientation. Anything
    unusual returns None, and Pillow then parses the file (and raises with its own diagnosis).
    """
    if not data.startswith(b"\xff\xd8\xff"):
        return None
    i, n = 2, len(data)
    size: tuple[int, int] | None = None
    orientation, fmt = None, "jpeg"
    while i + 4 <= n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            i += 2
            continue
        if marker == 0xD9:
            return None
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if length < 2 or i + 2 + length > n:
            return None
        if marker == 0xDA:  # start of scan: the header is complete
            return (*size, orientation, fmt) if size else None
        start = i + 4
        if marker in _SOF_MARKERS and size is None:
            if length < 7:
                return None
            height = int.from_bytes(data[start + 1 : start + 3], "big")
            width = int.from_bytes(data[start + 3 : start + 5], "big")
            if not width or not height:
                return None
            size = (width, height)
        elif marker == 0xE1 and orientation is None and data.startswith(b"Exif\0\0", start):
            orientation = _exif_orientation(data[start + 6 : i + 2 + length])
        elif marker == 0xE2 and data.startswith(b"MPF\0", start):
            fmt = "mpo"
        i += 2 + length
    return None


def _exif_orientation(tiff: bytes) -> int | None:
    """Orientation tag (274) of the first IFD of a TIFF-structured EXIF block, or None."""
    endian = {b"II": "little", b"MM": "big"}.get(tiff[:2])
    if endian is None or len(tiff) < 8:
        return None
    ifd = int.from_bytes(tiff[4:8], endian)
    if ifd + 2 > len(tiff):
        return None
    for k in range(int.from_bytes(tiff[ifd : ifd + 2], endian)):
        entry = ifd + 2 + 12 * k
        if entry + 12 > len(tiff):
            return None
        if int.from_bytes(tiff[entry : entry + 2], endian) == _EXIF_ORIENTATION:
            return int.from_bytes(tiff[entry + 8 : entry + 10], endian)
    return None


def _stored_size(im: Image.Image) -> tuple[int, int]:
    """Size of the pixel data as stored, before any orientation.

    Recent Pillow versions already swap a TIFF's ``size`` for orientations 5-8 (older ones did not), so
    TIFF sizes are read from the width/length tags to stay independent of the Pillow version.
    """
    if im.format == "TIFF":
        tags = getattr(im, "tag_v2", {})
        if 256 in tags and 257 in tags:
            return int(tags[256]), int(tags[257])
    return im.size


def _orientation(im: Image.Image) -> int | None:
    """EXIF orientation tag of an opened image, or None when absent or unreadable.

    Reads only what ``open`` parsed (``info["exif"]``; TIFF tags): ``Image.getexif()`` would decode a PNG to
    look for an ``eXIf`` chunk after the pixel data, and would spoil a following ``verify()``.
    """
    try:
        if im.format == "TIFF":
            return im.getexif().get(_EXIF_ORIENTATION)
        raw = im.info.get("exif")
        if not raw:
            return None
        exif = Image.Exif()
        exif.load(raw)
        return exif.get(_EXIF_ORIENTATION)
    except Exception:  # malformed EXIF must not make a good image unreadable
        return None
