"""A real local HTTP server that records the webhook POSTs it receives (headers and body)."""

import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def webhook_server(status: int = 204, respond=None, tls=None, host: str = "127.0.0.1"):
    """Yields (url, received): received[i] is {"path", "headers", "body"}; `received.arrived` is set at the first.
    `respond(handler)` writes its own answer instead of `status`; `tls` (an ssl.SSLContext) serves https, the URL
    naming `host` (resolved by the test itself)."""
    received = []
    received_event = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append({"path": self.path, "headers": dict(self.headers), "body": body})
            if respond:
                received_event.set()
                respond(self)
                return
            self.send_response(status)
            self.end_headers()
            received_event.set()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://{host}:{server.server_port}/hook", _Received(received, received_event)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _Received:
    def __init__(self, items: list, event: threading.Event):
        self.items, self.arrived = items, event

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]
