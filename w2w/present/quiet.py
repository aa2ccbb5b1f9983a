"""What the speaker's terminal shows of the clients: nothing a phone or a browser can do prints a
traceback there, and trouble that repeats is said once, then summarised.

- `CLIENTS` ("w2w.present.clients"): the server's lines about its clients and its files. A
  `Summary` on it lets the first line of each kind (its template) through, counts the ones that
  follow within a minute, and says them in one line when the minute is over: `<the last one> (N in
  the last minute)`. A thousand phones that stop reading make two lines, not a thousand.
- `report(exc, request)`: what an exception that escaped a route says. A client that went away
  says nothing; a stream the client stopped reading, one summarised line; a file of the site that
  cannot be read, one summarised line. Such an exception is then marked, so that uvicorn's
  "Exception in ASGI application" with its traceback is dropped (`PROTOCOL_LOG`, the logger
  GuardedH11Protocol gives uvicorn's protocol). Anything else is w2w's own bug: uvicorn prints it
  with its traceback, as before.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from sse_starlette.sse import SendTimeoutError
from starlette.requests import ClientDisconnect, Request

CLIENTS = logging.getLogger("w2w.present.clients")
WINDOW_S = 60.0
_REPORTED = "w2w_reported"  # set on an exception once `report` has said it


@dataclass
class _Window:
    last: logging.LogRecord
    count: int  # records held back since the first
    timer: threading.Timer


class Summary(logging.Filter):
    """The first record of a kind passes; the others within `window_s` of it are held back and
    counted, and the last of them is said with the count when the window closes (or at `flush`)."""

    def __init__(self, window_s: float = WINDOW_S) -> None:
        super().__init__()
        self.window_s = window_s
        self._lock = threading.Lock()
        self._open: dict[tuple, _Window] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "w2w_summary", False):
            return True
        key = (record.name, record.levelno, record.msg)
        with self._lock:
            window = self._open.get(key)
            if window is not None:
                window.last, window.count = record, window.count + 1
                return False
            timer = threading.Timer(self.window_s, self._close, (key,))
            timer.daemon = True
            self._open[key] = _Window(record, 0, timer)
        timer.start()
        return True

    def flush(self) -> None:
        """Say every open window's count now (the server is stopping)."""
        with self._lock:
            keys = list(self._open)
        for key in keys:
            self._close(key)

    def _close(self, key: tuple) -> None:
        with self._lock:
            window = self._open.pop(key, None)
        if window is None:
            return
        window.timer.cancel()
        if window.count:
            last = window.last
            text = f"{last.getMessage()} ({window.count + 1} in the last minute)"
            summary = logging.makeLogRecord({**last.__dict__, "msg": text, "args": None, "w2w_summary": True})
            logging.getLogger(last.name).handle(summary)


def summarised(logger: logging.Logger = CLIENTS, window_s: float = WINDOW_S) -> Summary:
    """Put a Summary on `logger` (once) and return it."""
    for existing in logger.filters:
        if isinstance(existing, Summary):
            return existing
    summary = Summary(window_s)
    logger.addFilter(summary)
    return summary


# --- exceptions that escaped a route ------------------------------------------------------------


def _leaves(exc: BaseException):
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    else:
        yield exc


def _client(request: Request) -> str:
    return request.client.host if request.client else "a client"


def report(exc: BaseException, request: Request) -> None:
    """Say `exc` in the terminal as its kind deserves (see the module's docstring), then mark it."""
    leaves = list(_leaves(exc))
    if all(isinstance(e, ClientDisconnect | ConnectionError) for e in leaves):
        pass  # the client went away (an upload dropped mid-body, a closed tab): nothing to say
    elif any(isinstance(e, SendTimeoutError) for e in leaves):
        CLIENTS.warning("dropped a stream that stopped reading (%s, %s)", _client(request), request.url.path)
    elif isinstance(exc, OSError) and exc.filename:
        CLIENTS.warning("cannot read %s (%s): answered 500", exc.filename, exc.strerror or type(exc).__name__)
    else:
        return  # w2w's own bug: its traceback is for the terminal
    try:
        setattr(exc, _REPORTED, True)
    except AttributeError:  # an exception type without a __dict__: uvicorn says it too
        pass


def reported(exc: BaseException | None) -> bool:
    return bool(exc is not None and getattr(exc, _REPORTED, False))


class _Unreported(logging.Filter):
    """uvicorn's lines that w2w has already said its own way: an exception `report` said, and the
    malformed request and upgrade lines GuardedH11Protocol answers in w2w's words."""

    SAID = {"Invalid HTTP request received.", "Unsupported upgrade request."}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and reported(record.exc_info[1]):
            return False
        return record.msg not in self.SAID and not str(record.msg).startswith("No supported WebSocket library")


# uvicorn's protocol logs to "uvicorn.error"; GuardedH11Protocol gives it this child of it instead,
# whose lines still reach uvicorn's handler, less the ones w2w has said.
PROTOCOL_LOG = logging.getLogger("uvicorn.error.w2w")
PROTOCOL_LOG.addFilter(_Unreported())
