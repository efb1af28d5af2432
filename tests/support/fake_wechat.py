"""A tiny fake of WeChat's jscode2session on loopback: a real HTTP server in a thread, not a patched function.

Codes starting with "good-" log in as openid "openid-<rest>"; "down-" answers 500 with HTML; anything else gets
WeChat's own refusal (errcode 40029, invalid code)."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class _Handler(BaseHTTPRequestHandler):
    calls: list[dict[str, str]]

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        self.server.calls.append(query)  # type: ignore[attr-defined]
        code = query.get("js_code", "")
        if url.path != "/sns/jscode2session" or query.get("grant_type") != "authorization_code":
            self._send(404, {"errcode": 404, "errmsg": "not found"})
        elif code.startswith("good-"):
            self._send(200, {"openid": "openid-" + code[5:], "session_key": "c2Vzc2lvbg=="})
        elif code.startswith("down-"):
            self._send(500, None)
        else:
            self._send(200, {"errcode": 40029, "errmsg": "invalid code"})

    def _send(self, status: int, body: dict | None) -> None:
        data = json.dumps(body).encode() if body is not None else b"<html>busy</html>"
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if body is not None else "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: object) -> None:
        return


@contextmanager
def fake_wechat() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """Run the fake on a free loopback port; yields its base URL and the queries it received."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.calls = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.calls  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
