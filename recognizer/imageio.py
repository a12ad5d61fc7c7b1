"""Load photos and scans as arrays `Recognizer.read` accepts, whatever their file format quirks.

Handles EXIF-rotated phone photos, RGBA and LA (transparency composited over paper: white, black
behind light ink on nothing), palette images, 16-bit and 32-bit greyscale, CMYK, very large and
tiny images. Anything that is not a readable image raises `ImageError` with a one-line message
naming the file.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 200_000_000  # larger is a decompression bomb or a panorama, not a photo of a note (12-108 MP)
IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".jpe", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm",
     ".pnm", ".jfif", ".heic", ".heif"}
)  # what a folder walk picks up; files named explicitly are tried whatever their extension
UNSUPPORTED = {".heic": "HEIC/HEIF", ".heif": "HEIC/HEIF"}  # walked all the same: the user hears why


class ImageError(ValueError):
    """A file could not be read as an image; the message is one line and names the file."""


def load_image(path: str | Path) -> np.ndarray:
    """The image at `path` as a 2-D greyscale array (uint8, or uint16 for 16-bit files), upright.

    Greyscale is all reading needs and keeps a 12 MP photo at 12 MB instead of 36.
    """
    name = str(path)  # messages name the file as the user gave it: "./a.png" stays "./a.png"
    path = Path(path)
    check_file(path, name)
    try:
        with warnings.catch_warnings(), pillow_pixel_limit(MAX_PIXELS):
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                if img.width * img.height > MAX_PIXELS:
                    raise ImageError(f"{name}: image too large ({img.width}x{img.height} pixels; "
                                     f"at most {MAX_PIXELS // 1_000_000} megapixels)")
                if img.format in ("JPEG", "MPO") and img.mode == "RGB":  # MPO: many phone cameras
                    img.draft("L", img.size)  # decode the luma alone: a 108 MP photo in 108 MB, not 324
                img.load()
                ImageOps.exif_transpose(img, in_place=True)  # no copy of an upright photo
                return to_gray_array(img)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):  # Pillow's check, above ours
        raise ImageError(f"{name}: image too large (over {MAX_PIXELS // 1_000_000} megapixels)") from None
    except UnidentifiedImageError:
        if path.suffix.lower() in UNSUPPORTED:  # iPhone photos: Pillow reads them only with a plugin
            raise ImageError(f"{name}: {UNSUPPORTED[path.suffix.lower()]} images are not supported; "
                             f"convert it to JPEG or PNG") from None
        raise ImageError(f"{name}: not an image file (or an unsupported format)") from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        reason = _first_line(exc)
        if isinstance(exc, OSError) and exc.errno and exc.strerror:  # the system's: no errno, no path again
            reason = exc.strerror
        if "truncated" in reason.lower() or isinstance(exc, EOFError):
            reason = "truncated or damaged image file"
        raise ImageError(f"{name}: cannot read image ({reason})") from None


def check_file(path: Path, name: str) -> None:
    """What to say before Pillow tries: missing, a folder, empty; or that the path cannot even be
    looked at (a folder on the way without permission), which pathlib raises as PermissionError."""
    try:
        if not path.exists():
            raise ImageError(f"{name}: file not found")
        if path.is_dir():
            raise ImageError(f"{name}: {folder_problem(path)}")
        if path.is_file() and path.stat().st_size == 0:  # a pipe (/dev/stdin) has no size until read
            raise ImageError(f"{name}: empty file")
    except OSError as exc:
        raise ImageError(f"{name}: cannot read image ({exc.strerror or exc})") from None


def folder_problem(path: Path) -> str:
    """Why a folder stands where an image should: one the walk could not list, or one given as a file."""
    try:
        with os.scandir(path):
            return "is a folder, not an image"
    except OSError as exc:
        return f"cannot open folder ({exc.strerror or type(exc).__name__})"


@contextmanager
def pillow_pixel_limit(limit: int) -> Iterator[None]:
    """Pillow's own bomb check set to `limit` for one load: its default (89 MP) would refuse the
    108 MP photos of current phones, which MAX_PIXELS admits."""
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = limit
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def to_gray_array(img: Image.Image) -> np.ndarray:
    """A Pillow image of any mode as a 2-D numpy array; transparency becomes paper: white, or black
    behind light ink drawn on nothing."""
    mode = img.mode
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        mode = img.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        shade = 0 if light_ink_on_nothing(rgba) else 255
        paper = Image.new("RGBA", rgba.size, (shade, shade, shade, 255))
        return np.asarray(Image.alpha_composite(paper, rgba).convert("L"))
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        a = np.asarray(img)
        if a.dtype != np.uint16:
            a = np.clip(a, 0, 65535)
            a = a.astype(np.uint16) if a.max() > 255 else a.astype(np.uint8)
        return np.ascontiguousarray(a)
    if mode == "F":
        a = np.nan_to_num(np.asarray(img, np.float32))
        lo, hi = float(a.min()), float(a.max())
        return ((a - lo) * (255.0 / max(hi - lo, 1e-6))).astype(np.uint8)
    if mode == "L":
        return np.asarray(img)  # convert("L") would copy it first
    if mode == "1":
        return np.asarray(img.convert("L"))
    if mode == "RGB":
        return np.asarray(img.convert("L"))
    return np.asarray(img.convert("RGB").convert("L"))  # CMYK, YCbCr, LAB, HSV


def light_ink_on_nothing(rgba: Image.Image) -> bool:
    """Whether the image is light strokes on a mostly transparent background (a dark-mode drawing or
    a white signature exported as PNG): over white paper its digits would vanish. A page with
    transparent margins is mostly opaque and keeps white."""
    shown = np.asarray(rgba.getchannel("A")) >= 128
    if not shown.any() or shown.mean() >= 0.5:
        return False
    return float(np.asarray(rgba.convert("L"))[shown].mean()) > 127


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:160]


def find_images(path: str | Path) -> list[Path]:
    """Image files under a folder (recursively, sorted, hidden files skipped), and the folders that
    could not be listed (no permission): `load_image` then names the problem instead of the walk
    passing over them in silence."""
    root = Path(path)
    found: list[Path] = []

    def unlisted(exc: OSError) -> None:
        found.append(Path(exc.filename))

    for folder, dirs, files in os.walk(root, onerror=unlisted):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(Path(folder, f) for f in files
                     if not f.startswith(".") and Path(f).suffix.lower() in IMAGE_EXTENSIONS
                     and _file_or_unknown(Path(folder, f)))
    return sorted(found)


def _file_or_unknown(path: Path) -> bool:
    """A regular file (not a FIFO or a dangling link), or one that cannot be looked at (a folder readable
    but not searchable), which `load_image` then names instead of the walk raising."""
    try:
        return path.is_file()
    except OSError:
        return True
