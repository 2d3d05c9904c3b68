"""A loopback JSON-RPC proxy in front of anvil, playing a user's node that lacks eth_simulateV1, or a slow one."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@contextmanager
def proxy(upstream: str, *, refuse: frozenset[str] = frozenset(), delay: float = 0.0) -> Iterator[str]:
    """A node URL that forwards to `upstream`, answers methods in `refuse` with JSON-RPC -32601 (as geth
    does for a method it lacks), and waits `delay` seconds before eth_simulateV1 answers."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            items = body if isinstance(body, list) else [body]
            if any(item.get("method") == "eth_simulateV1" for item in items):
                time.sleep(delay)
            refused = [item for item in items if item.get("method") in refuse]
            if refused:
                reply: Any = [{"jsonrpc": "2.0", "id": item.get("id"),
                               "error": {"code": -32601, "message": "the method eth_simulateV1 does not exist/is not available"}}
                              for item in refused]
                reply = reply if isinstance(body, list) else reply[0]
                payload = json.dumps(reply).encode()
            else:
                request = urllib.request.Request(upstream, json.dumps(body).encode(), {"Content-Type": "application/json"})
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        payload = response.read()
                except OSError:  # the upstream anvil stopped (a fork still polling after its test)
                    with suppress(OSError):
                        self.send_error(502)
                    return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            with suppress(OSError):  # the client gave up waiting (the slow-node test)
                self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
