"""Secrets never leave the program: not in logs, stored errors or anything printed."""

from __future__ import annotations

import io
import logging
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from connectors.base import FetchResult
from monitor.config import parse_config
from monitor.poll import poll_source
from monitor.redact import RedactingFilter, Redactor
from monitor.store import Store
from tests.conftest import Clock
from tests.feedserver import FeedServer

SECRET = "pa55-Zebra-Quartz-91"


def test_redactor_masks_every_secret_longest_first() -> None:
    redact = Redactor(["abcd", "abcdefgh", "no", ""])
    assert redact("x abcdefgh y abcd z no") == "x *** y *** z no"  # too short to mask: "no"


def test_log_filter_masks_messages_arguments_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(Redactor([SECRET])))
    logger = logging.getLogger("test.redact")
    logger.addHandler(handler)
    try:
        logger.warning("login with %s failed", SECRET)
        try:
            raise RuntimeError(f"server said: bad password {SECRET}")
        except RuntimeError:
            logger.exception("poll crashed")
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert SECRET not in written
    assert "login with *** failed" in written and "bad password ***" in written


class Crashing:
    def fetch(self, cursor: dict | None) -> FetchResult:
        raise RuntimeError(f"request to https://dana:{SECRET}@api.example failed")


def test_a_connectors_exception_is_stored_without_the_secret(tmp_path: Path, clock: Clock) -> None:
    config = parse_config(
        f"""
storage: {{url: "sqlite:///{tmp_path}/s.db"}}
sources: [{{name: blog, type: feed, url: "https://dana:${{FEED_PASSWORD}}@blog.example/feed"}}]
""",
        path="t.yaml",
        environ={"FEED_PASSWORD": SECRET},
    )
    assert SECRET in config.secrets
    store = Store(config.storage_url)
    store.ensure_sources([("blog", "feed")])
    outcome = poll_source(
        config.source("blog"), Crashing(), store, clock=clock, redact=config.redact
    )
    assert SECRET not in (outcome.error or "")
    assert "https://dana:***@api.example" in (outcome.error or "")
    with sqlite3.connect(tmp_path / "s.db") as conn:
        (stored,) = conn.execute("SELECT last_error FROM sources").fetchone()
    assert SECRET not in stored


def test_literal_secrets_and_url_passwords_are_masked_too(tmp_path: Path) -> None:
    config = parse_config(
        f"""
storage: {{url: "sqlite:///{tmp_path}/s.db"}}
sources: [{{name: blog, type: feed, url: "https://dana:{SECRET}@blog.example/feed"}}]
""",
        path="t.yaml",
        environ={},
    )
    assert config.secrets == {SECRET}  # the password, not the whole URL


def test_nothing_printed_at_debug_level_contains_the_password(tmp_path: Path) -> None:
    with FeedServer() as server:
        url = server.url("/private.xml", userinfo="dana:${FEED_PASSWORD}")
        config = tmp_path / "sameday.yaml"
        config.write_text(
            f'storage: {{url: "sqlite:///{tmp_path}/s.db"}}\n'
            f'sources: [{{name: blog, type: feed, url: "{url}"}}]\n'
        )
        outputs = []
        for command in (["poll"], ["status"], ["check"]):
            done = subprocess.run(
                [sys.executable, "-m", "monitor", "--log-level", "debug", "-c", str(config),
                 *command],
                capture_output=True,
                text=True,
                timeout=60,
                env={**os.environ, "FEED_PASSWORD": SECRET},
            )  # fmt: skip
            outputs.append(done.stdout + done.stderr)
        assert server.seen("/private.xml"), "the feed was really requested"
    assert "404" in outputs[0]
    for output in outputs:
        assert SECRET not in output
