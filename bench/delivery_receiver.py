"""A webhook receiver for tests and benchmarks: checks the HMAC signature, drops repeats by
idempotency key (as a real receiver should), and remembers what it got and when.

In a thread: ``WebhookReceiver(secret).start()``; as a process:
``python -m bench.delivery_receiver --port 8765 --secret s3cret`` (``GET /stats`` answers JSON).
"""
from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from plugins.forwarders.webhook import verify_signature


class WebhookReceiver:
    def __init__(self, secret: str, host: str = "127.0.0.1", port: int = 0, delay: float = 0.0):
        self.secret = secret
        self.delay = delay  # seconds each accepted request takes (a slow receiver)
        self.lock = threading.Lock()
        self.events: list[dict] = []  # first receipt of each idempotency key, in arrival order
        self.arrived_at: dict[str, float] = {}
        self.keys: set[str] = set()
        self.repeats = 0
        self.bad_signatures = 0
        self.fail_next: list[int] = []  # status codes to answer before accepting again
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self, status: int, body: dict):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                with receiver.lock:
                    self._answer(200, receiver.stats())

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if not verify_signature(receiver.secret, self.headers.get("X-Serasi-Timestamp", ""), body,
                                        self.headers.get("X-Serasi-Signature", "")):
                    with receiver.lock:
                        receiver.bad_signatures += 1
                    return self._answer(401, {"error": "bad signature"})
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver.lock:
                    if receiver.fail_next:
                        return self._answer(receiver.fail_next.pop(0), {"error": "told to fail"})
                    key = self.headers.get("Idempotency-Key", "")
                    if key in receiver.keys:
                        receiver.repeats += 1
                    else:
                        receiver.keys.add(key)
                        receiver.arrived_at[key] = time.time()
                        receiver.events.append(json.loads(body))
                self._answer(200, {"ok": True})

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # bursts from several delivery threads
            allow_reuse_address = True

            def handle_error(self, request, client_address):
                pass  # a sender killed mid-request (the fault tests do that) is not our error

        self.server = Server((host, port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}/hook"
        self.thread: threading.Thread | None = None

    def stats(self) -> dict:
        return {"received": len(self.events), "repeats": self.repeats, "bad_signatures": self.bad_signatures,
                "order": [(event["stay"]["id"], event["stay"]["version"]) for event in self.events],
                "arrived_at": self.arrived_at}

    def start(self) -> "WebhookReceiver":
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--seconds", type=float, default=600, help="stop by itself after this long")
    args = parser.parse_args()
    receiver = WebhookReceiver(args.secret, port=args.port).start()
    time.sleep(args.seconds)
    receiver.stop()


if __name__ == "__main__":
    main()
