"""Hard sticker photos: a faded, glared code that the normal passes miss is read by the
hard-photo passes, through the real upload path; a dark code the reader locates but cannot
correct is read once re-sampled; the passes stay out of the way otherwise."""
import io

import numpy as np
import pytest
import segno
from PIL import Image, ImageChops, ImageDraw, ImageFilter
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from plugins.zxing_decoder import HARD_PHOTO_DECODER_NAMES, ZxingEnhancedDecoder, _qr_function_modules
from serasi_web.capture.images import decode_photo
from serasi_web.plugins import registry

from .capture_samples import qr_photo
from .helpers import guest_form, make_lodging

STICKER_TEXT = "https://imigrasi.example/stamp?passport=PB1234567&permit=ITK00012345"


@pytest.fixture
def lodging(app, operator, offices):
    return make_lodging(operator)


def faded_glared_sticker(text: str, label: int, fade: int, glare: int) -> bytes:
    """A grey label whose code is printed only ``fade`` levels darker, with a soft bright
    highlight over part of the code, on a light page; JPEG as a phone saves it."""
    buffer = io.BytesIO()
    segno.make_qr(text, error="m").save(buffer, kind="png", scale=1, border=4)
    modules = Image.open(io.BytesIO(buffer.getvalue())).convert("L")
    code = modules.resize((300, 300), Image.NEAREST).point(lambda v: label if v > 127 else label - fade)
    page = Image.new("L", (1600, 1200), 200)
    page.paste(Image.new("L", (700, 330), label), (300, 300))
    page.paste(code, (315, 315))
    light = Image.new("L", page.size, 0)
    ImageDraw.Draw(light).ellipse((380, 380, 600, 520), fill=glare)
    page = ImageChops.add(page, light.filter(ImageFilter.GaussianBlur(40)))
    out = io.BytesIO()
    page.convert("RGB").save(out, "JPEG", quality=85)
    return out.getvalue()


def capture(client, lodging, photo: bytes):
    data = guest_form(action="capture_photo")
    data["photo"] = FileStorage(io.BytesIO(photo), filename="sticker.jpg", content_type="image/jpeg")
    boundary, body = encode_multipart(MultiDict(data))
    return client.post(f"/lodgings/{lodging.id}/stays/new", data=body, content_type=f"multipart/form-data; boundary={boundary}",
                       headers={"Accept-Language": "en"})


@pytest.mark.parametrize("label, fade, glare", [(170, 22, 140), (180, 16, 90), (175, 14, 60)])
def test_faded_glared_sticker_missed_by_the_normal_passes_is_read_by_a_hard_photo_pass(app, label, fade, glare):
    photo = faded_glared_sticker(STICKER_TEXT, label, fade, glare)
    decoders = registry().decoders
    normal_passes = [decoder for decoder in decoders if decoder.name not in HARD_PHOTO_DECODER_NAMES]
    assert decode_photo(photo, normal_passes).texts == []  # the pipeline as it was before them
    found = decode_photo(photo, decoders)
    assert found.texts == [STICKER_TEXT] and found.decoder in HARD_PHOTO_DECODER_NAMES


def dark_sticker(text: str, module_px: float, angle: float, gain: float, noise: float, quality: int, seed: int) -> bytes:
    """A sticker photographed in little light: the code at about two pixels a module, tilted,
    ``gain`` of the light (ink and label then a dozen grey levels apart), sensor noise of
    ``noise`` levels, and a JPEG save; 800x600."""
    buffer = io.BytesIO()
    segno.make_qr(text, error="m").save(buffer, kind="png", scale=1, border=4)
    modules = Image.open(io.BytesIO(buffer.getvalue())).convert("L")
    side = round(modules.width * module_px)
    page = Image.new("L", (side * 3, side * 2), 215)
    page.paste(Image.new("L", (side * 2, side + 20), 240), (side // 2 - 10, side // 2 - 10))
    page.paste(modules.resize((side, side), Image.NEAREST).point(lambda v: 240 if v > 127 else 25), (side // 2, side // 2))
    page = page.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=90)
    photo = Image.new("L", (800, 600), 90)
    photo.paste(page, ((800 - page.width) // 2, (600 - page.height) // 2))
    pixels = np.asarray(photo, np.float32) * gain + 8 + np.random.default_rng(seed).normal(0, noise, (600, 800))
    out = io.BytesIO()
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


@pytest.mark.parametrize("module_px, angle, gain, noise, quality, seed",
                         [(2.0, -8, 0.06, 1.5, 85, 2), (2.2, 0, 0.06, 1.0, 80, 15), (1.8, -9, 0.11, 1.5, 80, 57)])
def test_dark_sticker_located_but_not_corrected_is_read_once_re_sampled(app, module_px, angle, gain, noise, quality, seed):
    photo = dark_sticker(STICKER_TEXT, module_px, angle, gain, noise, quality, seed)
    decoders = registry().decoders
    # The same passes without the re-sampling, as they were before it.
    without = [ZxingEnhancedDecoder(decoder.name, decoder.priority, decoder.enhance, decoder.binarizers)
               if getattr(decoder, "resample_located", False) else decoder for decoder in decoders]
    assert decode_photo(photo, without).texts == []
    found = decode_photo(photo, decoders)
    assert found.texts == [STICKER_TEXT] and found.decoder == "zxing-cpp (equalized)"


@pytest.mark.parametrize("version", [1, 2, 6, 7, 14, 32, 40])
def test_the_fixed_modules_re_sampling_writes_back_are_those_of_every_qr_code_of_the_version(version):
    known, dark = _qr_function_modules(version)
    for text, error in (("A", "l"), ("PB1234567", "h")):
        matrix = np.array(segno.make_qr(text, error=error, version=version, boost_error=False).matrix, bool)
        assert matrix.shape == known.shape and (matrix[known] == dark[known]).all()
    assert known.sum() > 3 * 64  # the finder patterns with their separators at least


def test_photo_of_a_faded_glared_sticker_fills_the_entry_stamp(operator_client, lodging):
    response = capture(operator_client, lodging, faded_glared_sticker(STICKER_TEXT, 170, 22, 140))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="PB1234567"' in page and 'value="ITK00012345"' in page and "from the document" in page


def test_hard_photo_passes_do_not_run_when_the_normal_pass_reads_the_code(app):
    found = decode_photo(qr_photo("ITK-2026-000123"), registry().decoders)
    assert found.texts == ["ITK-2026-000123"] and found.decoder == "zxing-cpp"


def test_hard_photo_passes_are_registered_after_every_other_decoder(app):
    decoders = registry().decoders
    hard = [index for index, decoder in enumerate(decoders) if decoder.name in HARD_PHOTO_DECODER_NAMES]
    assert len(hard) == len(HARD_PHOTO_DECODER_NAMES) and hard == list(range(len(decoders) - len(hard), len(decoders)))


class CountingPass:
    """A third-party hard-photo pass that finds nothing and counts its calls."""

    hard_photo_pass = True

    def __init__(self, name):
        self.name, self.priority, self.calls = name, 95, 0

    def available(self):
        return True

    def decode(self, image):
        self.calls += 1
        return []


def test_a_photo_without_a_code_stops_the_hard_photo_passes_at_their_budget(app, monkeypatch):
    from serasi_web.capture import images

    blank = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 200, 200)).save(blank, "JPEG")
    first, second = CountingPass("first"), CountingPass("second")
    decode_photo(blank.getvalue(), [*registry().decoders, first, second])
    assert (first.calls, second.calls) == (1, 1)
    monkeypatch.setattr(images, "HARD_PHOTO_BUDGET_SECONDS", 0.0)
    # A spent budget lets the pass under way finish and starts no other.
    first.calls = second.calls = 0
    found = decode_photo(blank.getvalue(), [*registry().decoders, first, second])
    assert found.texts == [] and second.calls == 0


class CountingDecoder(CountingPass):
    """A third-party decoder that finds nothing and counts its calls (not a hard-photo pass)."""

    hard_photo_pass = False


@pytest.mark.parametrize("scaled_only", [False, True])
def test_a_decoder_that_scales_itself_is_not_run_again_on_the_full_size_image(app, scaled_only):
    big = io.BytesIO()
    Image.new("RGB", (4000, 3000), (200, 200, 200)).save(big, "JPEG")  # a 12 MP photo with nothing in it
    decoder = CountingDecoder("counting")
    decoder.priority, decoder.scaled_only = 50, scaled_only
    found = decode_photo(big.getvalue(), [decoder])
    assert found.texts == [] and decoder.calls == (1 if scaled_only else 2)
