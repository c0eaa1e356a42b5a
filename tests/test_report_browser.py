"""The HTML report in a real browser: a hostile comment renders as text and runs nothing.

Headless Chromium (Debian's ``chromium``) loads each page from a file, lets its virtual clock run
so that a broken image's ``onerror`` would fire, and prints the DOM it ended with. Payloads that
leave a mark in the DOM when they run (a title, an attribute) make "nothing ran" visible there;
the first test shows that the marks do appear on a page that does not escape, so their absence
on the report means something. The report is checked twice: as it is (escaping and its
Content-Security-Policy) and with the policy removed (escaping alone).

The browser is installed with apt-get when missing (as `.ci/run` does); the tests skip, saying
why, only when that fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor import sla
from monitor.report import DayData, OpenItem, Report, SourceTally, TrendDay, day_figures
from monitor.report_render import CSP, render_html

BRIEF_PAYLOAD = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
# The same attacks, leaving a mark in the DOM if they run.
MARKING_PAYLOAD = (
    "<script>document.title='PWNED-BY-SCRIPT'</script>"
    "<img src=x onerror=\"document.documentElement.setAttribute('data-pwned','onerror')\">"
)
AUTHOR_PAYLOAD = "<svg onload=\"document.documentElement.setAttribute('data-pwned','svg')\">"
# Appended to a page (never to the report itself) to read `window.__pwned` once the payloads had
# their chance (a broken image's error event comes after the page's own scripts).
CHECKER = (
    "<script>setTimeout(() => { document.title = 'pwned=' + String(window.__pwned) }, 1000)"
    "</script>"
)
NEW_YORK = ZoneInfo("America/New_York")


def _install_chromium() -> str | None:
    """Try to install Debian's chromium; None on success, else why it failed."""
    if shutil.which("apt-get") is None:
        return "no apt-get on this machine"
    if os.geteuid() != 0:
        return "not root, so apt-get cannot install it (run: sudo apt-get install chromium)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"]
    problem = ""
    for step in ([install], [["apt-get", "update", "-q"], install]):  # the lists may be stale
        try:
            for command in step:
                subprocess.run(command, env=env, check=True, capture_output=True, timeout=900)
            return None
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            tail = getattr(exc, "stderr", b"") or b""
            problem = f"{' '.join(exc.cmd)} failed: {tail.decode(errors='replace')[-300:]}"
    return problem


@pytest.fixture(scope="session")
def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        problem = _install_chromium()
        found = shutil.which("chromium")
        if found is None:
            pytest.skip(f"headless Chromium is not installed and could not be: {problem}")
    return found


def final_dom(chromium: str, page: Path, tmp_path: Path) -> str:
    """The DOM after the page loaded and its (virtual) timers ran."""
    done = subprocess.run(
        [
            chromium,
            "--headless=new",
            "--disable-gpu",
            "--no-sandbox",  # root in a container has no user namespace for the sandbox
            "--no-first-run",
            "--disable-extensions",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=5000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "<html" in done.stdout, done.stderr[-2000:]
    return done.stdout


def title_of(dom: str) -> str:
    match = re.search(r"<title>(.*?)</title>", dom, re.DOTALL)
    return match.group(1) if match else ""


def hostile_report() -> Report:
    policy = sla.Policy(NEW_YORK, time(9), time(17), frozenset(range(5)), frozenset(),
                        sla.SAME_DAY)  # fmt: skip
    created = datetime(2026, 3, 9, 14, tzinfo=UTC)
    comment = OpenItem(7, "blog", "c7", AUTHOR_PAYLOAD, BRIEF_PAYLOAD + " " + MARKING_PAYLOAD,
                       "javascript:document.title='PWNED-BY-LINK'", created, created)  # fmt: skip
    data = DayData({"blog": SourceTally(open=1, overdue=1)}, [], {"blog": comment})
    per_source, total = day_figures(data, names=["blog"], policies={}, default_policy=policy)
    end = datetime(2026, 3, 11, 4, tzinfo=UTC)
    day = date(2026, 3, 10)
    return Report(day, "America/New_York", end, end, per_source, total,
                  trend=(TrendDay(day, total),))  # fmt: skip


def test_the_marks_show_when_a_page_does_not_escape(chromium: str, tmp_path: Path) -> None:
    # The control: without escaping and without a policy, every payload runs and says so.
    page = tmp_path / "unsafe.html"
    page.write_text(
        f"<!doctype html><html><head><title>t</title></head><body>"
        f"<p>{BRIEF_PAYLOAD} {MARKING_PAYLOAD}</p><p>{AUTHOR_PAYLOAD}</p>{CHECKER}</body></html>"
    )
    dom = final_dom(chromium, page, tmp_path)
    assert title_of(dom) == "pwned=2"  # the script set 1, then the broken image's onerror 2
    assert 'data-pwned="' in dom
    # And the policy alone stops them, even on that unescaped page.
    guarded = tmp_path / "unsafe-with-csp.html"
    guarded.write_text(
        page.read_text().replace(
            "<head>", f'<head><meta http-equiv="Content-Security-Policy" content="{CSP}">'
        )
    )
    dom = final_dom(chromium, guarded, tmp_path)
    assert title_of(dom) == "t" and 'data-pwned="' not in dom


def test_a_hostile_comment_renders_as_text_and_runs_nothing(chromium: str, tmp_path: Path) -> None:
    html = render_html(hostile_report())
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    dom = final_dom(chromium, page, tmp_path)
    assert title_of(dom) == "Sameday report: Tue 10 Mar 2026"
    assert 'data-pwned="' not in dom
    assert "<script" not in dom.lower() and "<svg" not in dom.lower()
    assert "<img" not in dom  # no chart given, and no image from the comment
    # The comment is there, as the text it is.
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in dom
    assert '&lt;img src=x onerror="window.__pwned=2"&gt;' in dom
    assert "&lt;svg onload=" in dom
    assert 'href="javascript' not in dom  # a javascript: URL is never a link


def test_escaping_alone_keeps_the_comment_inert(chromium: str, tmp_path: Path) -> None:
    # Without the Content-Security-Policy, and with a script of our own that reads
    # window.__pwned at the end: it runs, and finds that the comment's scripts did not.
    html = render_html(hostile_report())
    without_policy = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    assert without_policy != html
    page = tmp_path / "report-no-csp.html"
    page.write_text(without_policy.replace("</body>", CHECKER + "</body>"), encoding="utf-8")
    dom = final_dom(chromium, page, tmp_path)
    assert title_of(dom) == "pwned=undefined"
    assert 'data-pwned="' not in dom
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in dom
