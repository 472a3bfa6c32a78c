"""The database goes down under logged-in users: every page answers a small 503 page (no bare
500), the API a 503 problem, and everything works again when the database is back.

The outage is real: the app reaches PostgreSQL through a TCP relay that the test cuts (every
open connection dropped, new ones refused) and restores, as a database restart looks to the app.
"""
import socket
import threading

import pytest
from sqlalchemy.engine import make_url

from .browser import chromium, live_server, log_in
from .helpers import login, make_lodging

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


class DatabaseRelay:
    """A TCP relay in front of PostgreSQL that can be cut and restored on the same port."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self._serve()

    def _serve(self):
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            server = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread (close alone would not)
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            for end in self.sockets:
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                end.close()
            self.sockets = []

    def restore(self):
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self._serve()


@pytest.fixture
def relay(database_url):
    url = make_url(database_url)
    relay = DatabaseRelay(url.host or "127.0.0.1", url.port or 5432)
    yield relay, url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    relay.cut()


PAGES = ["/dashboard", "/stays", "/lodgings/", "/lodgings/new", "/notifications/settings", "/", "/admin/", "/no-such-page"]


def test_every_page_answers_503_while_the_database_is_down_and_works_again_after(another_app, relay, operator, offices):
    make_lodging(operator)
    relay, url = relay
    app = another_app(SQLALCHEMY_DATABASE_URI=url)
    client = app.test_client()
    login(client, operator.email)
    assert client.get("/dashboard").status_code == 200
    relay.cut()
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 503, path
        page = response.get_data(as_text=True)
        assert "Sementara tidak tersedia" in page and "<!doctype html>" in page, path
        assert response.headers["Cache-Control"] == "no-store" and response.headers["Retry-After"]
    english = client.get("/dashboard", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Temporarily unavailable" in english
    boosted = client.get("/stays", headers={"HX-Request": "true"})
    assert boosted.status_code == 503 and boosted.headers["HX-Retarget"] == "body"
    assert client.post("/logout").status_code == 503
    api = client.get("/api/v1/stays", headers={"Authorization": "Bearer srs_x"})
    assert api.status_code == 503 and api.mimetype == "application/problem+json"
    relay.restore()
    assert client.get("/dashboard").status_code == 200  # still logged in: the session outlived the outage


def test_a_logged_in_browser_sees_the_503_page_while_the_database_is_down(another_app, relay, operator, offices):
    make_lodging(operator)
    relay, url = relay
    app = another_app(SQLALCHEMY_DATABASE_URI=url)
    from playwright.sync_api import expect

    with live_server(app) as base_url, chromium() as browser:
        page = browser.new_page(locale="id-ID")
        log_in(page, base_url, operator.email)
        relay.cut()
        page.locator("header nav a", has_text="Tamu").click()  # a boosted link (htmx): the 503 page replaces the page
        expect(page.locator("h1")).to_have_text("Sementara tidak tersedia")
        response = page.goto(base_url + "/stays")  # and a plain navigation, as with JavaScript off
        assert response.status == 503
        expect(page.locator("h1")).to_have_text("Sementara tidak tersedia")
        relay.restore()
        page.click("main a")  # "Coba lagi": the same page, now served
        expect(page).to_have_url(base_url + "/stays")
        expect(page.locator("nav a").first).to_be_visible()
        assert page.goto(base_url + "/dashboard").status == 200
