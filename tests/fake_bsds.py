"""Tiny stand-ins for BSDS500 in its published layouts (500 small JPEGs, 200/100/200) for the data tests."""

from __future__ import annotations

import contextlib
import http.server
import io
import socket
import tarfile
import threading
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

COUNTS = {"train": 200, "val": 100, "test": 200}
GITHUB_PREFIX = "BSDS500-master/BSDS500/data/images"
BERKELEY_PREFIX = "BSR/BSDS500/data/images"


def jpeg(height: int, width: int, rng: np.random.Generator) -> bytes:
    """A random RGB JPEG of the given size."""
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)).save(buf, format="JPEG")
    return buf.getvalue()


def files(prefix: str, size: tuple[int, int] = (4, 4), seed: int = 0) -> dict[str, bytes]:
    """``{prefix/split/id.jpg: bytes}`` for 200/100/200 images with distinct numeric ids of 1 to 3 digits
    (so string and numeric order differ); odd ids are portrait (sizes swapped)."""
    rng = np.random.default_rng(seed)
    out = {}
    image_id = 1
    for split, count in COUNTS.items():
        for _ in range(count):
            h, w = size if image_id % 2 == 0 else size[::-1]
            out[f"{prefix}/{split}/{image_id}.jpg"] = jpeg(h, w, rng)
            image_id += 1
    return out


def write_dir(root: Path, members: dict[str, bytes]) -> Path:
    for name, data in members.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def write_tgz(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return path


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.routes[path]``; under ``/truncated/`` it announces the full length but sends half."""

    def do_GET(self):
        truncated = self.path.startswith("/truncated/")
        body = self.server.routes.get(self.path.removeprefix("/truncated"))
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if truncated else body)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(routes: dict[str, bytes]):
    """A loopback HTTP server on 127.0.0.1 in a thread, serving ``routes``; yields its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.routes = routes
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def closed_port_url() -> str:
    """A loopback URL on which nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/master.zip"
