"""Masking secrets in text that leaves the program: logs, stored errors, anything printed.

The config knows which values are secret (everything substituted from ``${VAR}``, and values
under keys such as ``password`` or ``token``); whatever a library puts into an exception or a log
line, those values come out as ``***``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

MASK = "***"
_SHORTEST = 4  # shorter values ("1", "yes") would mask ordinary words, and guard nothing


class Redactor:
    """Replace every known secret in a text by ``***``.

    >>> Redactor(["hunter22"])("login failed for dana:hunter22")
    'login failed for dana:***'
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is masked whole.
        self.secrets = sorted({s for s in secrets if len(s) >= _SHORTEST}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


class RedactingFilter(logging.Filter):
    """A handler filter that masks secrets in the message and in the traceback."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.redact.secrets:
            return True
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


def redact_logs(redact: Redactor) -> None:
    """Mask secrets in everything the root logger's handlers write."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter(redact))
