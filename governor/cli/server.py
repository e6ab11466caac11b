"""The gunicorn that `governor serve` runs. Threaded workers (gthread), so a client that opens a
connection and sends its request slowly, or never finishes it, holds one thread and not a whole
worker; a read timeout on every connection, so it does not hold that thread for long; and the
errors gunicorn answers itself (a malformed request line, a URI or header too large) as RFC 9457
problems like every other error, instead of gunicorn's HTML page.

No raw path reaches a log line (paths hold user and guardian ids, which must not outlive an
erasure in the logs): gunicorn's access log is off (the app logs each request as JSON, with its
route pattern and request id), and gunicorn's own error lines lose the request line they quote."""
from __future__ import annotations

import json
import logging

from gunicorn import glogging, util
from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import TConn, ThreadWorker

from governor.config import Settings
from governor.errors import PROBLEM_BASE


class _TimedConn(TConn):
    read_timeout: float = 15.0

    def init(self):
        super().init()
        self.sock.settimeout(self.read_timeout)  # after gunicorn made it blocking, for every request on it


class Worker(ThreadWorker):
    """gthread, with a read timeout per connection and problem+json for gunicorn's own errors."""

    read_timeout: float = 15.0

    def init_process(self):
        util.write_error = write_problem  # base.Worker.handle_error calls util.write_error
        logging.getLogger("gunicorn.error").addFilter(_QuietTimeouts())
        super().init_process()

    def accept(self, listener):  # as ThreadWorker.accept, with the timed connection
        try:
            client_sock, client_addr = listener.accept()
        except (BlockingIOError, ConnectionAbortedError):
            return
        self.nr_conns += 1
        client_sock.setblocking(True)
        conn = _TimedConn(self.cfg, client_sock, client_addr, listener.getsockname())
        conn.read_timeout = self.read_timeout
        self.enqueue_req(conn)


class _QuietTimeouts(logging.Filter):
    """A client that stalled past the read timeout is closed; that is not worth a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], TimeoutError):
            record.msg, record.args, record.exc_info, record.levelno, record.levelname = (
                "closed a connection that sent nothing for the read timeout", (), None, logging.INFO, "INFO")
        return True


class PathFreeLogger(glogging.Logger):
    """gunicorn's logger without its access log, whose lines carry the raw path and query (a
    logconfig_dict, which `governor serve` passes for JSON lines, would switch it on), and
    without the request line that its errors quote."""

    access_log_enabled = False  # also spares building each request's log fields

    def access(self, resp, req, environ, request_time):
        return

    def exception(self, msg, *args, **kwargs):
        if isinstance(msg, str) and msg.startswith("Error handling request"):  # "... %s %s", method, uri
            msg, args = "Error handling request", ()
        super().exception(msg, *args, **kwargs)

    def warning(self, msg, *args, **kwargs):
        if isinstance(msg, str) and msg.startswith("Invalid request from ip="):
            where, _, error = msg.partition(": ")  # the error quotes the request line or a header
            msg = f"{where}: {error.partition(':')[0].partition(chr(39))[0].strip()}"
        super().warning(msg, *args, **kwargs)


def write_problem(sock, status: int, reason: str, message: str) -> None:
    body = json.dumps({"type": PROBLEM_BASE + reason.lower().replace(" ", "-"), "title": reason,
                       "status": status, "detail": message[:300]}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/problem+json\r\n"
            f"Content-Length: {len(body)}\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n\r\n")
    util.write_nonblock(sock, head.encode("latin-1") + body)


class Server(BaseApplication):
    def __init__(self, settings: Settings, app_factory, extra: dict | None = None):
        self.settings, self.app_factory, self.extra = settings, app_factory, extra or {}
        super().__init__()

    def load_config(self):
        s = self.settings
        worker = type("GovernorWorker", (Worker,), {"read_timeout": float(s.request_timeout_seconds)})
        for key, value in {"bind": s.bind, "workers": s.workers, "threads": max(2, s.threads),
                           "worker_class": worker, "loglevel": s.log_level, "graceful_timeout": 10,
                           # requests are logged by the app, as JSON with their route and request id
                           "accesslog": None, "logger_class": PathFreeLogger,
                           # one control socket per host would be shared by every instance
                           "control_socket_disable": True, **self.extra}.items():
            if key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self):
        return self.app_factory(self.settings)
