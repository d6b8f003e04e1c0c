"""A site on 127.0.0.1 for a benchmark's pages: static files, and JSON posts answered in Python.

The pages (bench/pages/...) long-poll it for what to do next and post what they
measured; ``post(path, body)`` answers, on the server's thread. One server is one
origin (one site, for the browser).
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

Post = Callable[[str, dict[str, Any]], Any]


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # every page long-polls: the default 5 refuses connections
    daemon_threads = True


def serve(directory: Path, post: Post, name: str) -> ThreadingHTTPServer:
    """Serve ``directory`` and answer posts with ``post`` on a free port of 127.0.0.1,
    in a thread of its own (``server_address`` says where)."""

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(directory), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            try:
                answer = post(self.path, body)
            except Exception as exc:  # a bench bug: say it, answer the page
                print(f"{name}: {self.path}: {exc!r}", file=sys.stderr)
                answer = {"error": repr(exc)}
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = _Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
