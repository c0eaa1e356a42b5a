"""The config file from its owner's side: what loads, what it means, and how each mistake is told.

Every bad-config case asserts the whole location (``line N: key.path:``) and the part of the
message that says what to write instead.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, ClassVar

import pytest
from pydantic import Field

from connectors.base import ConnectorContext, ConnectorSettings, FetchResult, registry
from monitor import sla
from monitor.config import (
    DEFAULT_SLA,
    Config,
    ConfigFileError,
    default_config_path,
    load_config,
    parse_config,
)
from monitor.durations import Duration

EXAMPLE = Path(__file__).resolve().parents[1] / "config.example.yaml"
SECRET = "Zq7-hunter2-TOPSECRET"  # distinctive: it must never show up in a message

# A valid file to build bad ones from: lines 1-3, the first source starts on line 2.
ONE_SOURCE = """\
sources:
  - name: blog
    type: demo
"""


def load(text: str, environ: Mapping[str, str] | None = None) -> Config:
    return parse_config(textwrap.dedent(text), path="sameday.yaml", environ=environ or {})


def problems(text: str, environ: Mapping[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigFileError) as caught:
        load(text, environ)
    assert str(caught.value).startswith("config error in sameday.yaml:\n")
    return caught.value.problems


# ---------------------------------------------------------------------------------------------
# One mistake each: (file text, "line N: key.path:" it must start with, the fix it must say).

BAD = [
    # Unknown keys, at every level, with a did-you-mean where one is close.
    pytest.param(
        "owenr: {}\n", "line 1: owenr:", "unknown key; did you mean 'owner'?", id="top-key"
    ),
    pytest.param(
        "owner:\n  nmae: Dana\n", "line 2: owner.nmae:", "did you mean 'name'?", id="owner-key"
    ),
    pytest.param(
        "sla:\n  taget: 4h\n", "line 2: sla.taget:", "did you mean 'target'?", id="sla-key"
    ),
    pytest.param(
        "storage:\n  uri: x\n", "line 2: storage.uri:", "did you mean 'url'?", id="storage-key"
    ),
    pytest.param("report:\n  a: '18:00'\n", "line 2: report.a:", "unknown key", id="report-key"),
    pytest.param(
        "notify:\n  - url: json://localhost\n    digst: daily\n",
        "line 3: notify[0].digst:",
        "unknown key; did you mean 'digest'?",
        id="notify-key",
    ),
    pytest.param(
        ONE_SOURCE + "    evry: 5m\n",
        "line 4: sources[0].evry:",
        "unknown key; did you mean 'every'?",
        id="source-common-key",
    ),
    pytest.param(
        ONE_SOURCE + "    sla:\n      taget: 4h\n",
        "line 5: sources[0].sla.taget:",
        "unknown key; did you mean 'target'?",
        id="source-sla-key",
    ),
    pytest.param(
        ONE_SOURCE + "    per_houre: 3\n",
        "line 4: sources[0].per_houre:",
        "unknown key; did you mean 'per_hour'?",
        id="connector-key",
    ),
    pytest.param(
        ONE_SOURCE + "    colour: blue\n",
        "line 4: sources[0].colour:",
        "unknown key",
        id="connector-key-no-hint",
    ),
    pytest.param(
        ONE_SOURCE + "  - name: forum\n    type: fed\n",
        "line 5: sources[1].type:",
        "unknown connector type 'fed' (installed: ",
        id="connector-type",
    ),
    # Connector settings values.
    pytest.param(
        ONE_SOURCE + "    per_hour: 0\n",
        "line 4: sources[0].per_hour:",
        "greater than 0 (got 0)",
        id="demo-per-hour",
    ),
    pytest.param(
        ONE_SOURCE + "    platform: shop\n",
        "line 4: sources[0].platform:",
        "'blog' or 'forum' (got 'shop')",
        id="demo-platform",
    ),
    # Durations.
    pytest.param(
        ONE_SOURCE + "    every: often\n",
        "line 4: sources[0].every:",
        "expected a duration like 45s, 5m, 4h, 2d or 1h30m (got 'often')",
        id="every-word",
    ),
    pytest.param(
        ONE_SOURCE + "    every: 300\n",
        "line 4: sources[0].every:",
        "expected a duration like 45s, 5m, 4h, 2d or 1h30m (got 300)",
        id="every-bare-number",
    ),
    pytest.param(
        ONE_SOURCE + "    every: 5s\n",
        "line 4: sources[0].every:",
        "polling more often than every 10s is refused",
        id="every-too-often",
    ),
    pytest.param(
        ONE_SOURCE + "    every: 0s\n",
        "line 4: sources[0].every:",
        "more often than every 10s",
        id="every-zero",
    ),
    pytest.param(
        ONE_SOURCE + "    backfill: forever\n",
        "line 4: sources[0].backfill:",
        "expected all or a duration like 45s, 5m, 4h, 2d or 1h30m (got 'forever')",
        id="backfill",
    ),
    pytest.param(
        "sla:\n  target: soon\n",
        "line 2: sla.target:",
        "expected same_day or a duration like 45s, 5m, 4h, 2d or 1h30m (got 'soon')",
        id="target",
    ),
    pytest.param(
        "sla:\n  remind_before: 2 hours\n",
        "line 2: sla.remind_before:",
        "expected a duration like 45s, 5m, 4h, 2d or 1h30m (got '2 hours')",
        id="remind-before",
    ),
    pytest.param(
        ONE_SOURCE + "    sla: {target: 1 day}\n",
        "line 4: sources[0].sla.target:",
        "expected same_day or a duration",
        id="source-target",
    ),
    # Time zones.
    pytest.param(
        "owner:\n  timezone: Mars/Olympus\n",
        "line 2: owner.timezone:",
        "unknown time zone; use an IANA name like America/New_York (got 'Mars/Olympus')",
        id="owner-timezone",
    ),
    pytest.param(
        "sla:\n  timezone: America\n",
        "line 2: sla.timezone:",
        "unknown time zone; use an IANA name like America/New_York (got 'America')",
        id="timezone-is-a-directory",
    ),
    pytest.param(
        ONE_SOURCE + "    sla:\n      timezone: Europe/Berlinn\n",
        "line 5: sources[0].sla.timezone:",
        "unknown time zone",
        id="source-timezone",
    ),
    # Business hours, workdays, holidays.
    pytest.param(
        "sla:\n  business_hours: 9-5pm\n",
        "line 2: sla.business_hours:",
        "expected business hours like 09:00-17:00",
        id="hours-9-5pm",
    ),
    pytest.param(
        "sla:\n  business_hours: '17:00-09:00'\n",
        "line 2: sla.business_hours:",
        "close at or before they open",
        id="hours-overnight",
    ),
    pytest.param(
        ONE_SOURCE + "    sla: {business_hours: '25:00-26:00'}\n",
        "line 4: sources[0].sla.business_hours:",
        "",
        id="source-hours",
    ),
    pytest.param(
        "sla:\n  workdays: [mon, funday]\n",
        "line 2: sla.workdays:",
        "unknown weekday 'funday': expected mon, tue, wed, thu, fri, sat or sun",
        id="workdays-funday",
    ),
    pytest.param(
        ONE_SOURCE + "    sla:\n      workdays: []\n",
        "line 5: sources[0].sla.workdays:",
        "at least one workday is needed",
        id="workdays-empty",
    ),
    pytest.param(
        "sla:\n  holidays:\n    - 2026-12-25\n    - 2026-13-45\n",
        "line 4: sla.holidays[1]:",
        "expected a date like 2026-12-25 (year-month-day) (got '2026-13-45')",
        id="holiday-bad-month",
    ),
    pytest.param(
        "sla:\n  holidays: [christmas]\n",
        "line 2: sla.holidays[0]:",
        "expected a date like 2026-12-25",
        id="holiday-word",
    ),
    # Quiet hours and the report time.
    pytest.param(
        "quiet_hours: 22-7\n",
        "line 1: quiet_hours:",
        "expected a span of local times like 22:00-07:00 (got '22-7')",
        id="quiet-hours-no-minutes",
    ),
    pytest.param(
        "quiet_hours: '25:00-07:00'\n",
        "line 1: quiet_hours:",
        "expected a span of local times like 22:00-07:00",
        id="quiet-hours-25h",
    ),
    pytest.param(
        "quiet_hours: '22:00'\n",
        "line 1: quiet_hours:",
        "like 22:00-07:00",
        id="quiet-hours-no-end",
    ),
    pytest.param(
        "report:\n  at: 6pm\n",
        "line 2: report.at:",
        "expected a time of day like 18:00 (got '6pm')",
        id="report-at-6pm",
    ),
    pytest.param(
        "report:\n  at: '24:30'\n",
        "line 2: report.at:",
        "expected a time of day like 18:00",
        id="report-at-24h",
    ),
    # Names and required keys.
    pytest.param(
        ONE_SOURCE + "  - name: forum\n    type: demo\n  - name: blog\n    type: demo\n",
        "line 6: sources[2].name:",
        "the name 'blog' is already used by sources[0]; every source needs its own name",
        id="duplicate-source-name",
    ),
    pytest.param(
        "sources:\n  - type: demo\n",
        "line 2: sources[0].name:",
        "required key is missing",
        id="no-name",
    ),
    pytest.param(
        "sources:\n  - name: blog\n",
        "line 2: sources[0].type:",
        "required key is missing",
        id="no-type",
    ),
    pytest.param(
        "notify:\n  - digest: daily\n",
        "line 2: notify[0].url:",
        "required key is missing",
        id="notify-no-url",
    ),
    # Wrong shapes.
    pytest.param(
        "owner: Dana\n",
        "line 1: owner:",
        "expected a mapping: indented `key: value` lines",
        id="owner-not-mapping",
    ),
    pytest.param(
        "sources:\n  name: blog\n", "line 1: sources:", "expected a list", id="sources-not-list"
    ),
    pytest.param(
        "sources:\n  - blog\n",
        "line 2: sources[0]:",
        "expected a mapping: indented `key: value` lines (got 'blog')",
        id="source-not-mapping",
    ),
    pytest.param(
        "notify:\n  - url: json://localhost\n    digest: weekly\n",
        "line 3: notify[0].digest:",
        "'30m', 'hourly' or 'daily' (got 'weekly')",
        id="notify-digest",
    ),
    pytest.param(
        ONE_SOURCE + "    enabled: maybe\n",
        "line 4: sources[0].enabled:",
        "(got 'maybe')",
        id="enabled-not-bool",
    ),
    # The environment.
    pytest.param(
        "storage:\n  url: ${SAMEDAY_TEST_UNSET_DB}\n",
        "line 2: storage.url:",
        "environment variable ${SAMEDAY_TEST_UNSET_DB} is not set; export SAMEDAY_TEST_UNSET_DB=",
        id="env-missing",
    ),
    pytest.param(
        ONE_SOURCE + "    every: ${SAMEDAY_TEST_UNSET_EVERY}\n",
        "line 4: sources[0].every:",
        "${SAMEDAY_TEST_UNSET_EVERY} is not set",  # and not also "expected a duration" for ""
        id="env-missing-in-checked-key",
    ),
    # The YAML itself.
    pytest.param(
        ONE_SOURCE + "    every: 5m\n    every: 10m\n",
        "line 5: sources[0].every:",
        "written twice (first on line 4)",
        id="duplicate-yaml-key",
    ),
    pytest.param(
        "owner:\n  name: [Dana\nsla: {}\n",
        "line 3: not valid YAML:",
        "expected ',' or ']'",
        id="yaml-unclosed",
    ),
    pytest.param("owner:\n\tname: Dana\n", "line 2: not valid YAML:", "'\\t'", id="yaml-tab"),
    pytest.param(
        "owner:\n  name: Dana\n timezone: UTC\n",
        "line 3: not valid YAML:",
        "",
        id="yaml-bad-indent",
    ),
    pytest.param(
        "- owner\n- sla\n", "the top level must be a mapping", "not a list", id="top-is-list"
    ),
    pytest.param(
        "just words\n", "the top level must be a mapping", "not a single value", id="top-is-scalar"
    ),
]


@pytest.mark.parametrize(("text", "where", "fix"), BAD)
def test_each_mistake_names_line_key_path_and_fix(text: str, where: str, fix: str) -> None:
    (problem,) = problems(text)
    assert problem.startswith(where), problem
    assert fix in problem


def test_unknown_connector_type_lists_the_installed_ones() -> None:
    (problem,) = problems(ONE_SOURCE + "  - name: forum\n    type: fed\n")
    assert f"(installed: {', '.join(sorted(registry()))})" in problem
    if "feed" in registry():
        assert problem.endswith("did you mean 'feed'?")


def test_feed_settings_typo_suggests_url() -> None:
    if "feed" not in registry():
        pytest.skip("the feed connector is not importable here")
    found = problems("sources:\n  - name: blog\n    type: feed\n    ur: https://x.example/feed\n")
    assert "line 4: sources[0].ur: unknown key; did you mean 'url'?" in found


def test_every_problem_in_the_file_is_reported_at_once_in_file_order() -> None:
    text = """\
        owner:
          timezone: Mars/Olympus
        sla:
          target: soon
        storage:
          url: ${SAMEDAY_TEST_UNSET}
        sources:
          - name: blog
            type: demo
            every: 1s
            per_houre: 3
          - name: blog
            type: fed
        quiet_hours: late
        report:
          at: 6pm
        """
    found = problems(text)
    assert [p.split(": ", 2)[:2] for p in found] == [
        ["line 2", "owner.timezone"],
        ["line 4", "sla.target"],
        ["line 6", "storage.url"],
        ["line 10", "sources[0].every"],
        ["line 11", "sources[0].per_houre"],
        ["line 12", "sources[1].name"],
        ["line 13", "sources[1].type"],
        ["line 14", "quiet_hours"],
        ["line 16", "report.at"],
    ]


# ---------------------------------------------------------------------------------------------
# Secrets: values from ${VAR}, and values under keys that look secret, never appear in messages.


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(ONE_SOURCE + "    every: ${S}\n", id="every"),
        pytest.param(ONE_SOURCE + "    backfill: ${S}\n", id="backfill"),
        pytest.param(ONE_SOURCE + "    seed: ${S}\n", id="connector-setting"),
        pytest.param(ONE_SOURCE + "    platform: ${S}\n", id="connector-literal"),
        pytest.param("sources:\n  - name: a\n    type: ${S}\n", id="connector-type"),
        pytest.param(
            "sources:\n  - {name: '${S}', type: demo}\n  - {name: '${S}', type: demo}\n",
            id="dup-name",
        ),
        pytest.param("owner:\n  timezone: ${S}\n", id="timezone"),
        pytest.param("sla:\n  business_hours: ${S}\n", id="business-hours"),
        pytest.param("sla:\n  workdays: [mon, '${S}']\n", id="workday-in-list"),
        pytest.param("sla:\n  holidays: ['${S}']\n", id="holiday"),
        pytest.param("sla:\n  target: 'x${S}'\n", id="part-of-a-value"),
        pytest.param("quiet_hours: ${S}\n", id="quiet-hours"),
        pytest.param("report:\n  at: ${S}\n", id="report-at"),
        pytest.param(
            "notify:\n  - url: 'mailto://dana:${S}@example.com'\n    digest: ${S}\n", id="notify"
        ),
    ],
)
def test_values_from_the_environment_are_never_echoed(text: str) -> None:
    found = problems(text, {"S": SECRET})
    assert found  # the value is wrong, and the message says where…
    assert all(": " in p and p.startswith("line ") for p in found)
    assert SECRET not in "\n".join(found)  # …without showing it


Short = Annotated[str, Field(max_length=4)]


class _SecretiveSettings(ConnectorSettings):
    api_key: Short | None = None
    client_secret: Short | None = None
    app_password: Short | None = None
    bearer_token: Short | None = None
    webhook_url: Short | None = None
    keywords: list[Short] = Field(default_factory=list)
    username: Short | None = None


class _SecretiveConnector:
    """A connector whose settings reject long values, to see which ones a message shows."""

    type: ClassVar[str] = "secretive"
    Settings: ClassVar[type[_SecretiveSettings]] = _SecretiveSettings

    def __init__(self, settings: Any, context: ConnectorContext) -> None:
        self.settings = settings

    def fetch(self, cursor: dict[str, Any] | None) -> FetchResult:
        return FetchResult(records=[], cursor=None)


@pytest.fixture
def secretive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry(), "secretive", _SecretiveConnector)


SECRETIVE = "sources:\n  - name: s\n    type: secretive\n"


@pytest.mark.usefixtures("secretive")
@pytest.mark.parametrize(
    "key", ["api_key", "client_secret", "app_password", "bearer_token", "webhook_url"]
)
def test_values_of_secret_looking_keys_are_never_echoed(key: str) -> None:
    (problem,) = problems(SECRETIVE + f"    {key}: {SECRET}\n")
    assert problem.startswith(f"line 4: sources[0].{key}: String should have at most 4 characters")
    assert SECRET not in problem


@pytest.mark.usefixtures("secretive")
@pytest.mark.parametrize(
    ("line", "where"),
    [
        pytest.param("keywords: [danashop]", "line 4: sources[0].keywords[0]:", id="keywords-item"),
        # `keywords` contains "key" but is not a secret: the tightened rule matches whole words.
        pytest.param("keywords: danashop", "line 4: sources[0].keywords:", id="keywords"),
        pytest.param("username: danashop", "line 4: sources[0].username:", id="username"),
    ],
)
def test_values_of_ordinary_keys_are_shown(line: str, where: str) -> None:
    (problem,) = problems(SECRETIVE + f"    {line}\n")
    assert problem.startswith(where)
    assert problem.endswith("(got 'danashop')")


def test_storage_url_is_never_echoed() -> None:
    (problem,) = problems("storage:\n  url: 123456789\n")
    assert problem == "line 2: storage.url: expected text (quote it if it looks like a number)"


# ---------------------------------------------------------------------------------------------
# ${VAR} substitution.


def test_env_values_and_defaults_are_substituted_anywhere() -> None:
    config = load(
        """\
        owner:
          name: ${NAME}
          identities:
            demo: ['${HANDLE:-dana}']
        storage:
          url: sqlite:///${DIR}/s.db
        sources:
          - name: ${SOURCE:-blog}
            type: demo
            seed: ${SEED}
            enabled: ${ENABLED:-false}
            sla: {target: '${TARGET:-4h}'}
        notify:
          - url: 'mailto://${USER}:${PASS}@example.com'
        """,
        {
            "NAME": "Dana",
            "DIR": "/tmp/x",
            "SEED": "42",
            "USER": "dana",
            "PASS": "p%40ss",  # percent-encoded, as a URL needs
            "TARGET": "2h",
        },
    )
    assert config.owner.name == "Dana"
    assert config.owner.identities == {"demo": ["dana"]}
    assert config.storage_url == "sqlite:////tmp/x/s.db"
    (source,) = config.sources
    assert (source.name, source.enabled, source.settings.seed) == ("blog", False, 42)
    assert source.policy.target == Duration(days=0, seconds=2 * 3600)
    assert config.notify[0].url == "mailto://dana:p%40ss@example.com"


def test_env_value_with_yaml_syntax_cannot_change_the_structure() -> None:
    sneaky = "x\nsources:\n  - {name: evil, type: demo}\n- c: d"
    config = load("owner:\n  name: ${NAME}\n", {"NAME": sneaky})
    assert config.owner.name == sneaky
    assert config.sources == ()


def test_env_value_is_not_expanded_again() -> None:
    config = load("owner:\n  name: ${A}\n", {"A": "${B}", "B": "nope"})
    assert config.owner.name == "${B}"


def test_every_unset_variable_is_named() -> None:
    found = problems("owner:\n  name: ${FIRST} ${LAST}\n")
    assert [p.split(" is not set")[0] for p in found] == [
        "line 2: owner.name: environment variable ${FIRST}",
        "line 2: owner.name: environment variable ${LAST}",
    ]


def test_a_default_written_in_the_file_is_shown() -> None:
    (problem,) = problems(ONE_SOURCE + "    every: ${SAMEDAY_TEST_EVERY:-often}\n")
    assert problem.endswith("(got 'often')")


def test_parse_config_reads_the_process_environment_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAMEDAY_TEST_OWNER", "Robin")
    config = parse_config("owner: {name: '${SAMEDAY_TEST_OWNER}'}\n", path="x.yaml")
    assert config.owner.name == "Robin"


# ---------------------------------------------------------------------------------------------
# Policies: the owner's, and per-source overrides key by key.

POLICIES = """\
owner:
  timezone: Europe/Berlin
sla:
  business_hours: "08:00-16:00"
  workdays: [mon, tue, wed, thu]
  holidays: [2026-12-25]
  remind_before: 1h
sources:
  - name: plain
    type: demo
  - name: faster
    type: demo
    sla: {target: 4h}
  - name: abroad
    type: demo
    sla: {timezone: America/New_York}
  - name: counted
    type: demo
    sla:
      target: 1d
      business_time: true
      remind_before: 30m
      business_hours: "10:00-18:00"
"""


def test_owner_policy_is_the_default() -> None:
    config = load(POLICIES)
    expected = sla.Policy(
        timezone=sla.ZoneInfo("Europe/Berlin"),
        opens=time(8),
        closes=time(16),
        workdays=frozenset({0, 1, 2, 3}),
        holidays=frozenset({date(2026, 12, 25)}),
        target=sla.SAME_DAY,
        business_time=False,
    )
    assert config.default_policy == expected
    assert config.source("plain").policy == expected
    assert config.source("plain").remind_before == Duration(days=0, seconds=3600)


@pytest.mark.parametrize(
    ("name", "changed"),
    [
        pytest.param("faster", {"target": Duration(days=0, seconds=4 * 3600)}, id="target-only"),
        pytest.param("abroad", {"timezone": sla.ZoneInfo("America/New_York")}, id="timezone-only"),
        pytest.param(
            "counted",
            {
                "target": Duration(days=1, seconds=0),
                "business_time": True,
                "opens": time(10),
                "closes": time(18),
            },
            id="several-keys",
        ),
    ],
)
def test_a_source_overrides_only_the_keys_it_names(name: str, changed: dict[str, Any]) -> None:
    config = load(POLICIES)
    policy = config.source(name).policy
    kept = {
        field: getattr(config.default_policy, field)
        for field in (
            "timezone",
            "opens",
            "closes",
            "workdays",
            "holidays",
            "target",
            "business_time",
        )
    }
    assert {field: getattr(policy, field) for field in kept} == kept | changed


def test_remind_before_is_overridden_per_source() -> None:
    assert load(POLICIES).source("counted").remind_before == Duration(days=0, seconds=1800)


def test_sla_timezone_overrides_the_owners() -> None:
    config = load("owner: {timezone: Europe/Berlin}\nsla: {timezone: Asia/Tokyo}\n")
    assert config.default_policy.timezone == sla.ZoneInfo("Asia/Tokyo")


# ---------------------------------------------------------------------------------------------
# Defaults, empty sections and what is accepted.


def test_an_empty_file_gives_the_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    config = load("")
    assert config.sources == () and config.notify == ()
    assert config.owner.timezone == "UTC" and config.owner.identities == {}
    assert config.quiet_hours is None and config.report_at is None
    assert config.storage_url == f"sqlite:///{tmp_path}/data/sameday/sameday.db"
    assert not (tmp_path / "data").exists()  # naming the default database creates nothing
    policy = config.default_policy
    assert (policy.timezone, policy.opens, policy.closes) == (
        sla.ZoneInfo("UTC"),
        time(9),
        time(17),
    )
    assert policy.workdays == frozenset(range(5)) and policy.holidays == frozenset()
    assert (policy.target, policy.business_time) == (sla.SAME_DAY, False)
    assert DEFAULT_SLA.remind_before == "2h"


EMPTY_SECTIONS = [
    pytest.param("# nothing but a comment\n", id="comment-only"),
    pytest.param("\n\n", id="blank-lines"),
    pytest.param("---\n", id="document-marker"),
    pytest.param(
        """\
        owner:
          # name: Dana
        sla:
        storage:
          # url: sqlite:////var/lib/sameday/sameday.db
        sources:
        notify:
        quiet_hours:
        report:
          # at: "18:00"
        """,
        id="every-section-commented-out",
    ),
    pytest.param(
        "owner:\n  name:\n  signature:\n  identities:\nsla:\n  target:\n", id="empty-keys"
    ),
]


@pytest.mark.parametrize("text", EMPTY_SECTIONS)
def test_empty_sections_are_the_same_as_leaving_them_out(text: str) -> None:
    empty = load("")
    config = load(text)
    assert config == Config(**{**empty.__dict__, "path": config.path})


def test_empty_keys_in_a_source_are_the_same_as_leaving_them_out() -> None:
    bare = load(ONE_SOURCE).sources[0]
    commented = load(
        ONE_SOURCE + "    sla:\n      # target: 4h\n    owner:\n    every:\n    seed:\n"
    ).sources[0]
    assert commented == bare


@pytest.mark.parametrize(
    ("written", "every"),
    [
        pytest.param("10s", Duration(0, 10), id="10s-the-minimum"),
        pytest.param("45s", Duration(0, 45), id="45s"),
        pytest.param("5m", Duration(0, 300), id="5m"),
        pytest.param("4h", Duration(0, 4 * 3600), id="4h"),
        pytest.param("2d", Duration(2, 0), id="2d"),
        pytest.param("1h30m", Duration(0, 5400), id="1h30m"),
    ],
)
def test_durations_are_read(written: str, every: Duration) -> None:
    source = load(ONE_SOURCE + f"    every: {written}\n    backfill: {written}\n").sources[0]
    assert (source.every, source.backfill) == (every, every)


def test_source_defaults_and_backfill_all() -> None:
    blog, forum = load(ONE_SOURCE + "  - name: forum\n    type: demo\n    backfill: all\n").sources
    assert (blog.every, blog.backfill, blog.enabled) == (Duration(0, 300), Duration(2, 0), True)
    assert forum.backfill is None  # "all": nothing is baseline


def test_unquoted_times_and_dates_mean_what_they_look_like() -> None:
    # YAML 1.1 reads 18:00 as the number 1080 (base 60) and 2026-12-25 as a date object.
    config = load(
        "report:\n  at: 18:00\nquiet_hours: 22:00-07:00\nsla:\n  holidays: [2026-12-25]\n"
    )
    assert config.report_at == "18:00"
    assert config.quiet_hours == "22:00-07:00"
    assert config.default_policy.holidays == frozenset({date(2026, 12, 25)})


def test_identities_accept_a_single_name_and_numeric_ids() -> None:
    config = load(
        """\
        owner:
          identities:
            demo: Dana
            discord: [123456789012345678]
        sources:
          - {name: blog, type: demo}
          - {name: forum, type: demo, owner: 42}
        """
    )
    assert config.owner.identities == {"demo": ["Dana"], "discord": ["123456789012345678"]}
    assert config.source("blog").owner_identities == ("Dana",)
    assert config.source("forum").owner_identities == ("42",)  # overrides owner.identities


def test_workdays_may_be_written_as_text() -> None:
    assert load("sla:\n  workdays: mon, Tuesday\n").default_policy.workdays == frozenset({0, 1})


def test_unknown_source_name_lists_the_configured_ones() -> None:
    with pytest.raises(KeyError, match=r"no source named 'shop' \(configured: blog\)"):
        load(ONE_SOURCE).source("shop")


# ---------------------------------------------------------------------------------------------
# Files.


def test_the_example_config_loads_as_it_is() -> None:
    config = load_config(EXAMPLE, environ={})
    assert config.path == EXAMPLE
    assert [s.name for s in config.sources] == ["shop-blog", "forum"]
    assert config.owner.timezone == "America/New_York"
    forum = config.source("forum")
    assert forum.policy.target == Duration(0, 4 * 3600) and forum.policy.business_time
    assert forum.policy.timezone == config.default_policy.timezone
    assert config.report_at == "18:00"


def test_every_commented_source_example_is_valid_as_written(tmp_path: Path) -> None:
    """Uncommented, each example source in config.example.yaml loads with its connector's own
    settings checks (secrets given through the environment, as the examples say)."""
    text = EXAMPLE.read_text()
    blocks = re.findall(r"^  # - name: .*\n(?:^  #   .*\n)*", text, flags=re.MULTILINE)
    assert len(blocks) >= 3  # feed, reddit, x (more as connectors come)
    examples = "".join(re.sub(r"^  # ", "  ", block, flags=re.MULTILINE) for block in blocks)
    path = tmp_path / "sameday.yaml"
    path.write_text(text.replace("\nsources:\n", "\nsources:\n" + examples, 1))
    secrets = set(re.findall(r"\$\{(\w+)\}", examples))
    config = load_config(path, environ={name: f"secret-{name}" for name in secrets})
    types = {source.type for source in config.sources}
    assert {"feed", "reddit", "x"} <= types
    # Passwords, secrets and tokens never show in a repr (a client id is not a secret).
    hidden = {name for name in secrets if not name.endswith("_ID")}
    assert hidden and not any(f"secret-{name}" in repr(config.sources) for name in hidden)


def test_a_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    missing = tmp_path / "sameday.yaml"
    with pytest.raises(ConfigFileError) as caught:
        load_config(missing, environ={})
    message = str(caught.value)
    assert str(missing) in message
    for advice in ("config.example.yaml", "-c FILE", "$SAMEDAY_CONFIG"):
        assert advice in message


def test_a_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="cannot read the file"):
        load_config(tmp_path, environ={})


def test_load_config_expands_the_home_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "sameday.yaml").write_text("owner: {name: Home}\n")
    assert load_config("~/sameday.yaml", environ={}).owner.name == "Home"


def test_load_config_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("sla:\n  target: soon\n")
    with pytest.raises(ConfigFileError) as caught:
        load_config(path, environ={})
    assert str(caught.value).startswith(f"config error in {path}:\n  - line 2: sla.target: ")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("/etc/sameday/prod.yaml", Path("/etc/sameday/prod.yaml"), id="from-env"),
        pytest.param("", Path("sameday.yaml"), id="empty-env"),
        pytest.param(None, Path("sameday.yaml"), id="unset"),
    ],
)
def test_default_config_path(
    monkeypatch: pytest.MonkeyPatch, value: str | None, expected: Path
) -> None:
    if value is None:
        monkeypatch.delenv("SAMEDAY_CONFIG", raising=False)
    else:
        monkeypatch.setenv("SAMEDAY_CONFIG", value)
    assert default_config_path() == expected


# ---------------------------------------------------------------------------------------------
# The command line: a bad config is exit code 2, a message on stderr, and nothing written.

CLI_CASES = [
    pytest.param(
        "storage:\n  url: sqlite:///{db}\n" + ONE_SOURCE + "    every: often\n",
        "line 6: sources[0].every: expected a duration",
        id="bad-value",
    ),
    pytest.param(
        "storage:\n  url: sqlite:///{db}\nowenr: {}\n",
        "line 3: owenr: unknown key",
        id="unknown-key",
    ),
    pytest.param("storage:\n  url: sqlite:///{db}\nsla: [\n", "not valid YAML", id="invalid-yaml"),
    pytest.param(
        "storage:\n  url: sqlite:///{db}\nowner: {name: '${SAMEDAY_TEST_UNSET}'}\n",
        "line 3: owner.name: environment variable ${SAMEDAY_TEST_UNSET} is not set",
        id="env-missing",
    ),
    pytest.param(None, "file not found; copy config.example.yaml", id="missing-file"),
]


@pytest.mark.parametrize(("text", "expected"), CLI_CASES)
@pytest.mark.parametrize("command", ["poll", "inbox", "status"])
def test_cli_bad_config_exits_2_and_writes_nothing(
    tmp_path: Path, text: str | None, expected: str, command: str
) -> None:
    db = tmp_path / "db" / "sameday.db"
    config = tmp_path / "bad.yaml"
    if text is not None:
        config.write_text(text.replace("{db}", str(db)))
    env = {k: v for k, v in os.environ.items() if k not in ("SAMEDAY_CONFIG", "SAMEDAY_TEST_UNSET")}
    env |= {"XDG_DATA_HOME": str(tmp_path / "data"), "HOME": str(tmp_path / "home")}
    before = sorted(tmp_path.rglob("*"))

    done = subprocess.run(
        [sys.executable, "-m", "monitor", "-c", str(config), command],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )

    assert done.returncode == 2, done.stderr
    assert f"config error in {config}" in done.stderr
    assert expected in done.stderr
    assert done.stdout == ""
    assert sorted(tmp_path.rglob("*")) == before  # no database, no data directory


def test_a_rejected_apprise_url_leaks_nothing(caplog: pytest.LogCaptureFixture) -> None:
    secret = "Zx9Secret@pw"  # an unencoded @ makes the host "pw": Apprise rejects it
    with caplog.at_level(logging.DEBUG), pytest.raises(ConfigFileError) as caught:
        parse_config(
            "notify:\n  - url: 'mailto://dana:${PASS}@example.com'\n",
            path="sameday.yaml",
            environ={"PASS": secret},
        )
    message = str(caught.value)
    assert "line 2: notify[0].url: not a notification URL Apprise understands" in message
    assert "percent-encoded" in message
    assert secret not in message and "Zx9" not in message
    # Apprise would log the URL with the password's first and last letters: nothing at all.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO] == []
