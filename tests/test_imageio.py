"""Loading photos and scans: every odd format, and a clear one-line error for every bad file."""

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from recognizer import imageio
from recognizer.imageio import ImageError, load_image


def sample() -> np.ndarray:
    """A 60x100 grey image with a dark bar on the left half: orientation is visible."""
    a = np.full((60, 100), 230, np.uint8)
    a[10:50, 10:40] = 20
    return a


def test_grayscale_png(tmp_path):
    path = tmp_path / "g.png"
    Image.fromarray(sample()).save(path)
    out = load_image(path)
    assert out.dtype == np.uint8 and np.array_equal(out, sample())


def test_rgb_jpeg(tmp_path):
    path = tmp_path / "c.jpg"
    Image.fromarray(np.dstack([sample()] * 3)).save(path, quality=95)
    out = load_image(path)
    assert out.shape == (60, 100) and abs(int(out[30, 20]) - 20) < 10 and abs(int(out[30, 80]) - 230) < 10


def test_exif_rotation_is_applied(tmp_path):
    path = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to view
    Image.fromarray(np.dstack([sample()] * 3)).save(path, exif=exif, quality=95)
    out = load_image(path)
    assert out.shape == (100, 60)  # upright: the landscape sensor image becomes portrait
    assert out[20, 30] < 60 and out[80, 30] > 200  # the bar moved from the left to the top


def test_rgba_transparency_becomes_white(tmp_path):
    rgba = np.zeros((60, 100, 4), np.uint8)
    rgba[10:50, 10:40] = (0, 0, 0, 255)  # opaque black ink on a fully transparent background
    path = tmp_path / "a.png"
    Image.fromarray(rgba, "RGBA").save(path)
    out = load_image(path)
    assert out[30, 20] == 0 and out[30, 80] == 255


def test_la_and_palette_with_transparency(tmp_path):
    la = Image.fromarray(np.dstack([sample(), np.full((60, 100), 255, np.uint8)]), "LA")
    la.save(tmp_path / "la.png")
    assert np.array_equal(load_image(tmp_path / "la.png"), sample())
    pal = Image.fromarray(np.dstack([sample()] * 3)).convert("P", palette=Image.ADAPTIVE, colors=4)
    pal.save(tmp_path / "p.png", transparency=int(pal.getpixel((80, 30))))
    out = load_image(tmp_path / "p.png")
    assert out[30, 80] == 255 and out[30, 20] < 60


def test_sixteen_bit_png(tmp_path):
    a16 = (sample().astype(np.uint16) * 257)
    path = tmp_path / "deep.png"
    Image.fromarray(a16).save(path)
    out = load_image(path)
    assert out.dtype == np.uint16 and out[30, 20] == 20 * 257 and out[30, 80] == 230 * 257


def test_one_bit_cmyk_and_tiny(tmp_path):
    Image.fromarray(sample() > 128).save(tmp_path / "b.png")
    assert set(np.unique(load_image(tmp_path / "b.png"))) == {0, 255}
    Image.fromarray(np.dstack([sample()] * 3)).convert("CMYK").save(tmp_path / "k.jpg")
    assert load_image(tmp_path / "k.jpg").shape == (60, 100)
    Image.new("L", (1, 1), 0).save(tmp_path / "t.png")
    assert load_image(tmp_path / "t.png").shape == (1, 1)


def test_too_large_is_refused_without_decoding(tmp_path, monkeypatch):
    Image.fromarray(sample()).save(tmp_path / "big.png")
    monkeypatch.setattr(imageio, "MAX_PIXELS", 1000)
    with pytest.raises(ImageError, match="too large"):
        load_image(tmp_path / "big.png")


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("notes.txt", b"123 not an image\n", "not an image"),
        ("fake.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "cannot read image|not an image"),
        ("empty.png", b"", "empty file"),
    ],
)
def test_bad_files_give_one_line_errors(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImageError, match=message) as info:
        load_image(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_files(tmp_path, fmt):
    buffer = io.BytesIO()
    noisy = np.random.default_rng(0).integers(0, 255, (200, 300), dtype=np.uint8)
    Image.fromarray(noisy).save(buffer, fmt)
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(ImageError, match="truncated|cannot read") as info:
        load_image(path)
    assert "\n" not in str(info.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageError, match="not found"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ImageError, match="folder"):
        load_image(tmp_path)


def test_find_images_walks_sorted_and_skips_hidden(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / ".hidden").mkdir()
    for rel in ("b/2.png", "a.JPG", ".hidden/x.png", "notes.txt", "b/1.jpeg"):
        (tmp_path / rel).write_bytes(b"x")
    found = [p.relative_to(tmp_path).as_posix() for p in imageio.find_images(tmp_path)]
    assert found == ["a.JPG", "b/1.jpeg", "b/2.png"]


@pytest.mark.parametrize("name", ["IMG_0001.HEIC", "photo.heif"])
def test_heic_is_walked_and_named_as_unsupported(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic")  # an iPhone photo's first bytes
    assert imageio.find_images(tmp_path) == [path]  # walked: the user hears about it
    with pytest.raises(ImageError, match="HEIC/HEIF images are not supported; convert it to JPEG") as info:
        load_image(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_photos_over_pillows_default_limit_load(tmp_path, monkeypatch):
    """Pillow's own bomb check (89 MP by default) refused 108 MP phone photos below MAX_PIXELS."""
    Image.fromarray(sample()).save(tmp_path / "phone.png")  # 6000 pixels
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # stands in for Pillow's 89 MP
    monkeypatch.setattr(imageio, "MAX_PIXELS", 10_000)  # stands in for our 200 MP
    assert np.array_equal(load_image(tmp_path / "phone.png"), sample())
    assert Image.MAX_IMAGE_PIXELS == 1000  # Pillow's setting is left as it was


@pytest.mark.parametrize("limit", [3000, 2000])  # Pillow warns over the limit, raises over twice it
def test_too_large_for_pillow_is_one_line_error(tmp_path, monkeypatch, limit):
    Image.fromarray(sample()).save(tmp_path / "big.png")
    monkeypatch.setattr(imageio, "MAX_PIXELS", limit)
    with pytest.raises(ImageError, match="too large") as info:
        load_image(tmp_path / "big.png")
    assert "\n" not in str(info.value) and str(tmp_path / "big.png") in str(info.value)


@pytest.mark.parametrize("fmt", ["JPEG", "MPO"])  # MPO: what many phone cameras write
def test_colour_jpeg_grey_matches_the_full_colour_decode(tmp_path, monkeypatch, fmt):
    """Colour JPEGs are decoded to luma alone (a third of the memory): same grey levels as RGB -> L."""
    ink = sample() < 128
    rgb = np.where(ink[..., None], np.uint8([30, 50, 170]), np.uint8([240, 228, 200]))  # blue on cream
    exif = Image.Exif()
    exif[0x0112] = 6
    frames = {"save_all": True, "append_images": [Image.fromarray(rgb)]} if fmt == "MPO" else {}
    Image.fromarray(rgb).save(tmp_path / "c.jpg", fmt, exif=exif, quality=90, **frames)
    with Image.open(tmp_path / "c.jpg") as img:
        assert img.format == fmt
        expected = np.asarray(ImageOps.exif_transpose(img).convert("L"), np.int16)

    def no_colour_copy(self, *args, **kwargs):
        raise AssertionError(f"{self.mode} image converted: the colour image was decoded")

    monkeypatch.setattr(Image.Image, "convert", no_colour_copy)
    out = load_image(tmp_path / "c.jpg")
    assert out.shape == (100, 60) and out.dtype == np.uint8
    assert np.abs(out.astype(np.int16) - expected).max() <= 4


def test_messages_name_the_file_as_given(tmp_path, monkeypatch):
    """`./scan.png` stays `./scan.png`: the CLI prefixes the path to messages that do not start with it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.png").write_bytes(b"")
    for given, message in (("./nope.png", "file not found"), ("sub//../empty.png", "empty file")):
        (tmp_path / "sub").mkdir(exist_ok=True)
        with pytest.raises(ImageError) as info:
            load_image(given)
        assert str(info.value) == f"{given}: {message}"


def deny(monkeypatch, locked: Path) -> None:
    """`locked` cannot be listed, as after `chmod 000` (which root, running these tests, ignores)."""
    real = os.scandir

    def scandir(path="."):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_folders_that_cannot_be_listed_are_named_not_skipped(tmp_path, monkeypatch):
    for rel in ("a.png", "locked/b.png", "z/c.png"):
        (tmp_path / rel).parent.mkdir(exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    deny(monkeypatch, tmp_path / "locked")
    found = imageio.find_images(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["a.png", "locked", "z/c.png"]
    with pytest.raises(ImageError) as info:
        load_image(found[1])
    assert str(info.value) == f"{tmp_path / 'locked'}: cannot open folder (Permission denied)"
    deny(monkeypatch, tmp_path)
    assert imageio.find_images(tmp_path) == [tmp_path]  # the folder given itself


def test_a_folder_given_as_an_image_and_an_unreadable_file(tmp_path, monkeypatch):
    with pytest.raises(ImageError, match="is a folder, not an image"):
        load_image(tmp_path)
    (tmp_path / "secret.png").write_bytes(b"x")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "secret.png"))

    monkeypatch.setattr(Image, "open", denied)
    with pytest.raises(ImageError) as info:
        load_image(tmp_path / "secret.png")
    assert str(info.value) == f"{tmp_path / 'secret.png'}: cannot read image (Permission denied)"


def test_light_ink_on_transparency_gets_dark_paper(tmp_path):
    """White strokes on nothing (a dark-mode drawing, a white signature): over white paper they vanished."""
    rgba = np.zeros((60, 100, 4), np.uint8)
    rgba[..., :3] = 255
    rgba[10:50, 10:40, 3] = 255  # opaque white ink, the rest fully transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "white.png")
    out = load_image(tmp_path / "white.png")
    assert out[30, 20] == 255 and out[30, 80] == 0
    la = np.dstack([np.full((60, 100), 250, np.uint8), np.where(sample() < 128, 255, 0).astype(np.uint8)])
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    assert load_image(tmp_path / "la.png")[30, 20] == 250 and load_image(tmp_path / "la.png")[30, 80] == 0


def test_a_mostly_opaque_page_keeps_white_paper(tmp_path):
    """A page with transparent margins: the paper (bright) is most of what shows, not ink."""
    rgba = np.dstack([sample()] * 3 + [np.full((60, 100), 255, np.uint8)])
    rgba[:, 90:, 3] = 0  # a transparent strip at the right
    Image.fromarray(rgba, "RGBA").save(tmp_path / "page.png")
    out = load_image(tmp_path / "page.png")
    assert out[30, 20] == 20 and out[30, 95] == 255


def deny_stat(monkeypatch, hidden: Path) -> None:
    """`hidden` cannot be looked at, as in a folder without search permission (even as root)."""
    real = Path.stat

    def stat(self, *args, **kwargs):
        if self == hidden:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", stat)


def test_a_file_in_a_folder_that_cannot_be_searched(tmp_path, monkeypatch):
    """pathlib raises PermissionError for a path it cannot look at; it must be one ImageError line."""
    hidden = tmp_path / "locked" / "a.png"
    deny_stat(monkeypatch, hidden)
    with pytest.raises(ImageError) as info:
        load_image(hidden)
    assert str(info.value) == f"{hidden}: cannot read image (Permission denied)"


def test_walk_names_files_it_cannot_look_at(tmp_path, monkeypatch):
    """A folder readable but not searchable (chmod 444): its names list, their stat fails. The walk
    raised PermissionError and the whole batch stopped."""
    (tmp_path / "rnox").mkdir()
    for rel in ("a.png", "rnox/b.png"):
        (tmp_path / rel).write_bytes(b"x")
    hidden = tmp_path / "rnox" / "b.png"
    deny_stat(monkeypatch, hidden)
    assert imageio.find_images(tmp_path) == [tmp_path / "a.png", hidden]
    with pytest.raises(ImageError, match="cannot read image \\(Permission denied\\)"):
        load_image(hidden)
