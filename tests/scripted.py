"""A loopback HTTP server whose responses a test scripts, for response shapes that
Zendesk documents or allows but the fake account does not produce."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qsl, urlsplit


class ScriptedServer:
    """Serves ``respond(path, query)`` on 127.0.0.1 and records every request.

    ``respond`` returns ``(status, body)``: a dict or list body is sent as JSON,
    str or bytes as they are.
    """

    def __init__(self, respond) -> None:
        self.respond = respond
        self.requests: list[tuple[str, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = dict(parse_qsl(parts.query))
                server.requests.append((parts.path, query))
                status, body = server.respond(parts.path, query)
                if isinstance(body, dict | list):
                    payload = json.dumps(body).encode()
                elif isinstance(body, str):
                    payload = body.encode()
                else:
                    payload = body
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]


def ticket(ticket_id: int, second: int, **fields: object) -> dict:
    """A minimal ticket version."""
    return {
        "id": ticket_id,
        "generated_timestamp": second,
        "status": "open",
        **fields,
    }


def page(
    tickets: list[dict],
    end_time: int | None,
    url: str = "",
    *,
    end_of_stream: bool | None = None,
    next_start: int | None = None,
) -> dict:
    """A time-based export page; ``end_of_stream=None`` leaves the key out."""
    body: dict = {"tickets": tickets, "count": len(tickets), "end_time": end_time}
    if end_of_stream is not None:
        body["end_of_stream"] = end_of_stream
    start = end_time if next_start is None else next_start
    body["next_page"] = f"{url}/api/v2/incremental/tickets.json?start_time={start}"
    return body
