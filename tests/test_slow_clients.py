"""`make serve` (image_search/serve.py: waitress with its limits set) against clients that send slowly:
they are cut off while everyone else is still answered (issue 13, item 12)."""

import http.client
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from image_search.serve import LIMITS, waitress_options
from image_search.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SLOW_CLIENTS = 110  # the attack: more than waitress's default connection limit of 100


@pytest.fixture
def production_server(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "IMAGE_SEARCH_DATA_DIR": str(tmp_path / "data"),
        "IMAGE_SEARCH_EMBEDDER_FACTORY": "tests.doubles.colour_embedder:ColourEmbedder",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "image_search.serve", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for line in process.stdout:
            if match := re.search(r"Serving on http://127\.0\.0\.1:(\d+)", line):
                threading.Thread(target=process.stdout.read, daemon=True).start()  # keep the pipe drained
                yield int(match[1])
                break
        else:
            pytest.fail(f"the server did not start (exit {process.wait()})")
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_limits_are_set_on_purpose():
    options = waitress_options(Settings(max_upload_mb=20))
    assert options["connection_limit"] > SLOW_CLIENTS and options["channel_timeout"] < 4  # the byte every 4 s
    assert 20 * 2**20 < options["max_request_body_size"] <= 22 * 2**20
    assert LIMITS["asyncore_use_poll"]  # select() would stop at 1024 sockets


def test_slow_clients_are_cut_off_and_others_still_answered(production_server):
    port = production_server
    slow = []
    for _ in range(SLOW_CLIENTS):
        sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\nX-Slow: a")  # ... and then a byte every 4 s
        slow.append(sock)
    started = time.monotonic()

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/api/search?q=red")
    assert conn.getresponse().status == 200  # answered at once, beside 110 slow connections

    time.sleep(4)
    cut = 0
    for sock in slow:
        sock.settimeout(2)
        try:
            sock.sendall(b"b")  # the next slow byte, 4 s on
            cut += sock.recv(1) == b""  # the server has closed the connection
        except (ConnectionResetError, BrokenPipeError):  # closed too
            cut += 1
        except TimeoutError:  # still open, waiting for the rest of the request
            pass
        finally:
            sock.close()
    assert cut == SLOW_CLIENTS and time.monotonic() - started < 15
