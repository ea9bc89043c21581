"""A local webhook sink for trying things out: prints each delivery and checks its signature.

    laoke sink --port 9099 --secret demo-webhook-secret-0001

The demo tenant's webhook channel points at http://127.0.0.1:9099/hooks/demo with that
secret. Nothing leaves the machine. Also used by the benchmark and tests as a counting
receiver (`Sink.received`)."""

from __future__ import annotations

import contextlib
import json
import threading
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from laoke.messaging.channels.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature


class Sink:
    """A threaded HTTP server on 127.0.0.1 that answers each POST with `status`."""

    def __init__(
        self,
        *,
        port: int = 0,
        secret: str | None = None,
        status: int | Callable[[bytes, dict[str, str]], int] = 200,
        on_request: Callable[[dict[str, Any]], None] | None = None,
        keep: bool = True,
        respond: Callable[[bytes, dict[str, str]], bytes] | None = None,
    ) -> None:
        self.secret = secret
        self.status = status
        self.received: list[dict[str, Any]] = []
        self.keys: Counter[str] = Counter()
        self.lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                self._answer(b"", dict(self.headers))

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                self._answer(self.rfile.read(length), dict(self.headers))

            def _answer(self, body: bytes, headers: dict[str, str]) -> None:
                lower = {k.lower(): v for k, v in headers.items()}
                valid = None
                if sink.secret is not None:
                    valid = verify_signature(
                        sink.secret,
                        lower.get(TIMESTAMP_HEADER.lower(), ""),
                        body,
                        lower.get(SIGNATURE_HEADER.lower(), ""),
                    )
                record = {
                    "path": self.path,
                    "method": self.command,
                    "headers": lower,
                    "body": body,
                    "valid": valid,
                }
                with sink.lock:
                    if keep:
                        sink.received.append(record)
                    key = lower.get("idempotency-key")
                    if key:
                        sink.keys[key] += 1
                if on_request:
                    on_request(record)
                status = sink.status(body, lower) if callable(sink.status) else sink.status
                answer = respond(body, lower) if respond else b'{"ok":true}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Sink:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve(port: int, secret: str | None, echo: Callable[[str], None]) -> None:
    def show(record: dict[str, Any]) -> None:
        try:
            text = json.dumps(json.loads(record["body"]), ensure_ascii=False, indent=2)
        except ValueError:
            text = record["body"].decode(errors="replace")
        mark = {True: "signature ok", False: "BAD SIGNATURE", None: "unsigned check"}[
            record["valid"]
        ]
        echo(f"--- {record['method']} {record['path']} ({mark})\n{text}")

    with Sink(port=port, secret=secret, on_request=show, keep=False) as sink:
        echo(f"listening on {sink.url} — Ctrl-C to stop")
        with contextlib.suppress(KeyboardInterrupt):
            sink.thread.join()
