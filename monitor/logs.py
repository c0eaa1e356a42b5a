"""Logging for the long-running commands: level, destination, text or JSON lines, secrets masked.

Every line about a source carries its name. The project writes such lines as
``log.info("[%s] …", source.name, …)``; a filter lifts that first argument into the record's
``source`` attribute (an explicit ``extra={"source": name}`` wins), so the JSON format can give
it a field of its own and a log collector can group by it::

    {"time": "2026-03-09T14:00:01.250Z", "level": "WARNING", "logger": "sameday.poll",
     "message": "[shop-blog] poll failed: temporary: …", "source": "shop-blog"}

Every handler installed here masks the config's secrets (`monitor.redact.RedactingFilter`),
after the source has been lifted and before anything is formatted.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from monitor.redact import RedactingFilter, Redactor

LogFormat = Literal["text", "json"]
FORMATS: tuple[str, ...] = ("text", "json")
LEVELS: tuple[str, ...] = ("debug", "info", "warning", "error")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_SOURCE_PREFIX = "[%s]"
# Libraries that log every request at INFO; the daemon's own lines say the same, with the
# source's name. Their warnings still show; at debug level, everything does.
CHATTY = ("httpx", "httpcore", "apprise")


class SourceFilter(logging.Filter):
    """Sets ``record.source`` for lines written as ``"[%s] …" % name``; never drops a record.

    With `sources`, only those names count: alert channels use the same ``[name]`` form, and a
    channel is not a source.
    """

    def __init__(self, sources: Iterable[str] | None = None) -> None:
        super().__init__()
        self.sources = None if sources is None else frozenset(sources)

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "source", None) is None:
            record.source = self._named(record)
        return True

    def _named(self, record: logging.LogRecord) -> str | None:
        args = record.args
        if not (
            isinstance(record.msg, str)
            and record.msg.startswith(_SOURCE_PREFIX)
            and isinstance(args, tuple)
            and args
            and isinstance(args[0], str)
        ):
            return None
        name = args[0]
        return name if self.sources is None or name in self.sources else None


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ``Z``), level, logger, message, source, exception."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        entry: dict[str, object] = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        source = getattr(record, "source", None)
        if source is not None:
            entry["source"] = source
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        # ensure_ascii: a stray control character in a comment cannot split the line.
        return json.dumps(entry, ensure_ascii=True)


def parse_level(name: str) -> int:
    """``"info"`` → `logging.INFO`; ValueError naming the accepted levels otherwise."""
    level = logging.getLevelName(name.strip().upper())
    if name.strip().lower() not in LEVELS or not isinstance(level, int):
        raise ValueError(f"--log-level must be one of {', '.join(LEVELS)}, not {name!r}")
    return level


def setup_logging(
    *,
    level: int | str = logging.INFO,
    file: Path | None = None,
    format: LogFormat = "text",
    redact: Redactor | None = None,
    sources: Iterable[str] | None = None,
) -> logging.Handler:
    """Send every log record to one handler (stderr, or `file`), replacing the root's handlers.

    `sources` are the configured source names (see `SourceFilter`). A file is opened with
    `WatchedFileHandler`, so logrotate can move it away safely. Returns the handler.
    """
    if isinstance(level, str):
        level = parse_level(level)
    if format not in FORMATS:
        raise ValueError(f"--log-format must be text or json, not {format!r}")
    handler: logging.Handler
    if file is not None:
        file = file.expanduser()
        file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.WatchedFileHandler(file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if format == "json" else logging.Formatter(TEXT_FORMAT))
    # Order matters: the source is read from the raw arguments, which redaction folds away.
    handler.addFilter(SourceFilter(sources))
    if redact is not None:
        # Without one, `redact_logs` adds the config's later; it skips a handler that has one.
        handler.addFilter(RedactingFilter(redact))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)
    for name in CHATTY:
        logging.getLogger(name).setLevel(
            logging.NOTSET if level <= logging.DEBUG else logging.WARNING
        )
    return handler
