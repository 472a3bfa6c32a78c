"""The capture photo upload: at most CAPTURE_MAX_BYTES + 1 bytes are read from the upload (a
larger photo is refused at the field without its body ever being in memory), and an image that
declares more than CAPTURE_MAX_PIXELS is refused before it is decoded: a message, never a 500."""
from __future__ import annotations

import io
import os
import tracemalloc

import pytest
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from ..helpers import guest_form, make_lodging
from ..capture_samples import png_header_only

EN = {"Accept-Language": "en"}


@pytest.fixture
def lodging(app, operator, offices):
    return make_lodging(operator)


def encoded_capture(photo: bytes) -> dict:
    data = guest_form(action="capture_photo", surname="Kept")
    data["photo"] = FileStorage(io.BytesIO(photo), filename="photo.jpg", content_type="image/jpeg")
    boundary, body = encode_multipart(MultiDict(data))
    return dict(data=body, content_type=f"multipart/form-data; boundary={boundary}", headers=EN)


def test_an_oversized_photo_is_refused_at_the_field_reading_only_up_to_the_limit(app, operator_client, lodging):
    app.config["CAPTURE_MAX_BYTES"] = 1024 * 1024
    request = encoded_capture(os.urandom(30 * 1024 * 1024))
    tracemalloc.start()
    try:
        response = operator_client.post(f"/lodgings/{lodging.id}/stays/new", **request)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "larger than 1 MB" in page and 'value="Kept"' in page
    assert peak < 4 * 1024 * 1024  # 1 MB read, not the 30 MB sent


def test_an_image_declaring_too_many_pixels_is_refused_before_decoding(app, operator_client, lodging):
    app.config["CAPTURE_MAX_PIXELS"] = 1_000_000
    response = operator_client.post(f"/lodgings/{lodging.id}/stays/new", **encoded_capture(png_header_only(2000, 2000)))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "The image is too large (more than 1 megapixels)." in page and 'value="Kept"' in page
