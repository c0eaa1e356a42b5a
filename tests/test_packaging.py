"""The wheel that deploy/Dockerfile installs: it must carry every module and the intent lexicon,
and the installed package must find its connectors through their entry points."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_carries_every_module_and_the_lexicon(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("sameday-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    sources = {
        path.relative_to(ROOT).as_posix()
        for package in ("monitor", "connectors")
        for path in (ROOT / package).glob("*.py")
    }
    assert sources <= names, sorted(sources - names)
    assert "monitor/intent_lexicon.json" in names
    migrations = {
        path.relative_to(ROOT).as_posix() for path in (ROOT / "monitor" / "migrations").rglob("*")
    }
    migrations = {name for name in migrations if name.endswith((".py", ".mako"))}
    assert migrations and migrations <= names, sorted(migrations - names)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[sameday.connectors]" in text and "feed = connectors.feed:FeedConnector" in text
    assert "sameday = monitor.cli:main" in text


def test_the_systemd_unit_runs_the_daemon_and_keeps_secrets_out() -> None:
    unit = (ROOT / "deploy" / "sameday.service").read_text()
    assert "ExecStart=/opt/sameday/bin/sameday run" in unit
    assert "EnvironmentFile=-/etc/sameday/env" in unit
    assert "RestartPreventExitStatus=2" in unit  # a bad config is not fixed by restarting
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert 'CMD ["sameday", "run"' in dockerfile and "USER sameday" in dockerfile
