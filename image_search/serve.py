"""The production server: waitress, its limits set on purpose (README, Production serving).

    python -m image_search.serve [--host 127.0.0.1] [--port 5000]     # `make serve`

waitress buffers each request whole before a request thread sees it, so a client that sends slowly holds
only a connection, never a thread; these limits decide how many connections there are and how long an
idle one may hold its place. Meant to run behind a reverse proxy (README), which does the same job better.
"""

from __future__ import annotations

import argparse
import logging

import waitress

from image_search.settings import Settings

LIMITS = {
    "threads": 4,  # request threads, each doing its math on WEB_THREADS threads
    # Open connections at once (waitress's default of 100 was used up by 110 clients sending a byte every 4 s).
    "connection_limit": 500,
    "asyncore_use_poll": True,  # poll(), not select(): select cannot watch more than 1024 sockets
    # Seconds a connection may go without sending or receiving anything while no request of it is being
    # served. Any client with a working network sends its request faster; an idle keep-alive is dropped.
    "channel_timeout": 3,
    "cleanup_interval": 1,  # how often (seconds) waitress looks for such connections
    "max_request_header_size": 64 * 1024,  # request line and headers (the default allows 256 KB)
    "backlog": 1024,  # connections the kernel queues while all `connection_limit` are taken
}
BODY_SLACK = 1024 * 1024  # multipart framing and form fields beside an upload of MAX_UPLOAD_MB


def waitress_options(settings: Settings) -> dict:
    """LIMITS, and a body limit just above MAX_UPLOAD_MB: a larger body is refused before it is buffered."""
    return {**LIMITS, "max_request_body_size": settings.max_upload_bytes + BODY_SLACK}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m image_search.serve", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    parser.add_argument("--port", type=int, default=5000, help="0: any free port")
    args = parser.parse_args(argv)

    from image_search import create_app
    from image_search.config import settings_of

    app = create_app()
    logging.getLogger("waitress").setLevel(logging.INFO)  # its "Serving on http://..." line
    waitress.serve(app, host=args.host, port=args.port, **waitress_options(settings_of(app)))


if __name__ == "__main__":
    main()
