"""Log output above a ``rich.live.Live`` display, not through it.

While a live view is on screen, anything written straight to the terminal lands in the
middle of it. ``Live`` redirects ``sys.stdout``/``sys.stderr`` for ``print``, but log
handlers that libraries created earlier (transformers keeps its own) hold the real
streams. :class:`LogRouting` points those at Live's redirected streams for the duration
of the run and, when the root logger has no handler, installs rich's log handler (with
warnings captured into logging) so records print above the live area.

    routing = LogRouting(live)   # after live.start()
    ...
    with routing.stopping:       # before live.stop()
        routing.restore()
        live.stop()

Without a live view (``--no-live``, or stdout not a terminal) :class:`PlainLogs` does the
same job for plain lines: a record prints escaped like every name, whether through a
handler a library made or through the one it installs where Python would otherwise fall
back to printing the raw message.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.logging import RichHandler
from rich.text import Text

from leaderboards.table import visible


class _LockedRichHandler(RichHandler):
    """Rich's log handler, made to finish each record before the live view may stop.

    A record from an agent's thread is laid out against the live area when printing
    starts; had the view stopped meanwhile, its cursor moves would erase what the CLI
    printed after the run (such as how to resume).
    """

    def __init__(self, *, console: Console, lock: threading.RLock) -> None:
        super().__init__(console=console, show_path=False)
        self._stop_lock = lock

    def emit(self, record: logging.LogRecord) -> None:
        with self._stop_lock:
            super().emit(record)

    def render_message(self, record: logging.LogRecord, message: str) -> Any:
        """The message literally, never as markup (not even with ``extra={"markup": True}``:
        an agent's log text may hold terminal escapes or what looks like markup), hidden
        characters made visible and line breaks kept; highlighted as Rich would."""
        text = Text(visible(message, newlines=True))
        if self.highlighter:
            text = self.highlighter(text)
        keywords = self.KEYWORDS if self.keywords is None else self.keywords
        if keywords:
            text.highlight_words(keywords, "logging.keyword")
        return text


class LogRouting:
    """Routes logging above ``live`` until :meth:`restore`; hold :attr:`stopping` to stop."""

    def __init__(self, live: Live) -> None:
        self.stopping = threading.RLock()
        self._rerouted: list[tuple[logging.StreamHandler, Any]] = []
        self._handler: logging.Handler | None = None
        # Live keeps the streams it replaced; any handler bound to one of them is moved.
        outs = {sys.__stdout__, getattr(live, "_restore_stdout", None)} - {None}
        errs = {sys.__stderr__, getattr(live, "_restore_stderr", None)} - {None}
        loggers = [logging.getLogger()] + [
            lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
        for logger in loggers:
            for handler in logger.handlers:
                if type(handler) is logging.StreamHandler and handler.stream in outs | errs:
                    target = sys.stdout if handler.stream in outs else sys.stderr
                    self._rerouted.append((handler, handler.setStream(target)))
        root = logging.getLogger()
        if not root.handlers:
            self._handler = _LockedRichHandler(console=live.console, lock=self.stopping)
            root.addHandler(self._handler)
            logging.captureWarnings(True)

    def restore(self) -> None:
        """Put every handler back as it was."""
        for handler, stream in self._rerouted:
            handler.setStream(stream)
        self._rerouted.clear()
        if self._handler is not None:
            logging.getLogger().removeHandler(self._handler)
            logging.captureWarnings(False)
            self._handler = None


class _Visible(logging.Formatter):
    """Another formatter's text with every hidden character made :func:`visible` (line
    breaks kept): an agent's log text may hold terminal escapes."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        return visible(self.inner.format(record), newlines=True)


class _StderrHandler(logging.Handler):
    """Prints to whatever ``sys.stderr`` is at the time (redirections included)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(self.format(record), file=sys.stderr, flush=True)
        except Exception:  # noqa: BLE001 -- logging must never stop a run
            self.handleError(record)


class PlainLogs:
    """Escapes log records printed as plain lines until :meth:`restore`.

    Handlers that print to the terminal (a library's own) get an escaping formatter; with
    no handler on the root logger one is installed for what Python's last-resort handler
    would print (warnings and worse, to stderr), escaped.
    """

    def __init__(self) -> None:
        self._wrapped: list[tuple[logging.Handler, logging.Formatter | None]] = []
        self._handler: logging.Handler | None = None
        root = logging.getLogger()
        loggers = [root] + [lg for lg in logging.Logger.manager.loggerDict.values()
                            if isinstance(lg, logging.Logger)]
        for logger in loggers:
            for handler in logger.handlers:
                if (type(handler) is logging.StreamHandler
                        and not isinstance(handler.formatter, _Visible)):
                    self._wrapped.append((handler, handler.formatter))
                    handler.setFormatter(_Visible(handler.formatter))
        if not root.handlers:
            self._handler = _StderrHandler(logging.WARNING)
            self._handler.setFormatter(_Visible(None))
            root.addHandler(self._handler)

    def restore(self) -> None:
        """Put every handler back as it was."""
        for handler, formatter in self._wrapped:
            handler.setFormatter(formatter)  # type: ignore[arg-type]
        self._wrapped.clear()
        if self._handler is not None:
            logging.getLogger().removeHandler(self._handler)
            self._handler = None
