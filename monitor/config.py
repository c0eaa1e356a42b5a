"""The one YAML config file: loading, ``${VAR}`` secrets, validation, and errors a person can fix.

Every problem is reported as a `ConfigFileError` naming the file, the line, the key path
(``sources[2].every``) and what was expected. Loading never writes anything, so a bad config
leaves the store untouched; the CLI turns the error into exit code 2.
"""

from __future__ import annotations

import builtins
import difflib
import logging
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from connectors.base import Connector, connector_type, installed
from monitor import sla
from monitor.alerts import AlertRules
from monitor.durations import DURATION_HINT, Duration, parse_duration
from monitor.redact import Redactor

DEFAULT_CONFIG_NAME = "sameday.yaml"
CONFIG_ENV = "SAMEDAY_CONFIG"
DEFAULT_STORAGE_URL = "sqlite:///{data_dir}/sameday.db"

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

# Whole words (split on `_`, `-`, `.`) that mark a value as secret: `api_key`, `client_secret`,
# `app_password`, `webhook_url`… but not `keywords`.
_SECRET_WORDS = frozenset(
    {"secret", "password", "passwd", "passphrase", "token", "key", "apikey", "url", "uri", "dsn"}
)


class ConfigFileError(Exception):
    """A config problem, already worded for the owner: file, line, key path, what to write."""

    def __init__(self, path: Path | str, problems: Sequence[str]) -> None:
        self.path = str(path)
        self.problems = list(problems)
        listed = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"config error in {self.path}:\n{listed}")


# ---------------------------------------------------------------------------------------------
# The schema. Every model forbids unknown keys: a typo must not pass silently.


def _drop_nulls(data: Any) -> Any:
    # `storage:` with only comments under it is YAML null: the same as leaving it out, at any level.
    if isinstance(data, dict):
        return {key: value for key, value in data.items() if value is not None}
    return data


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_sections(cls, data: Any) -> Any:
        return _drop_nulls(data)


def _duration(value: Any, accepted: str = DURATION_HINT) -> Duration:
    # Only text: `every: 300` could mean seconds or minutes, so it is refused rather than guessed.
    # The message says what is accepted; the value itself is added (or hidden) by `_describe`.
    if isinstance(value, Duration):
        return value
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except ValueError:
            pass
    raise ValueError(f"expected {accepted}")


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    # A directory such as "America" raises IsADirectoryError, an OSError.
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError("unknown time zone; use an IANA name like America/New_York") from None
    return value


def _holiday(value: Any) -> Any:
    # The loader keeps dates as text, so a bad one is reported here with its key path and line.
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("expected a date like 2026-12-25 (year-month-day)") from None
    return value


Holiday = Annotated[date, BeforeValidator(_holiday)]


class SLAConfig(Strict):
    """A deadline policy; every key optional so a source can override just one."""

    timezone: str | None = None
    target: str | None = None
    business_hours: str | None = None
    workdays: list[str] | None = None
    holidays: list[Holiday] | None = None
    business_time: bool | None = None
    remind_before: str | None = None
    repeat_overdue: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return None if value is None else _zone(value)

    @field_validator("target", mode="before")
    @classmethod
    def _target(cls, value: Any) -> Any:
        if value != sla.SAME_DAY:
            _duration(value, f"{sla.SAME_DAY} or {DURATION_HINT}")
        return value

    @field_validator("remind_before", "repeat_overdue", mode="before")
    @classmethod
    def _remind(cls, value: Any) -> Any:
        _duration(value)
        return value

    @field_validator("business_hours")
    @classmethod
    def _hours(cls, value: str | None) -> str | None:
        if value is not None:
            sla.parse_business_hours(value)
        return value

    @field_validator("workdays", mode="before")
    @classmethod
    def _days_text(cls, value: Any) -> Any:
        # `workdays: mon, tue` is YAML text; sla.parse_workdays reads it as a list, so do we.
        if isinstance(value, str):
            return [name for name in re.split(r"[\s,]+", value) if name]
        return value

    @field_validator("workdays")
    @classmethod
    def _days(cls, value: list[str] | None) -> list[str] | None:
        # An empty list is caught here, where the key path is known, not when the policy is built.
        if value is not None and not sla.parse_workdays(value):
            raise ValueError("at least one workday is needed, e.g. [mon, tue, wed, thu, fri]")
        return value


class OwnerConfig(Strict):
    name: str = "the owner"
    timezone: str = "UTC"
    signature: str | None = None
    # connector type -> the owner's names or ids there
    identities: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return _zone(value)

    @field_validator("identities", mode="before")
    @classmethod
    def _as_lists(cls, value: Any) -> Any:
        # `feed: Dana` is as clear as `feed: [Dana]`; ids written as numbers stay ids.
        if isinstance(value, Mapping):
            return {
                key: [str(v) for v in (names if isinstance(names, list) else [names])]
                for key, names in value.items()
            }
        return value


class StorageConfig(Strict):
    url: str | None = None  # None: SQLite under the user's data directory
    # How long a worker's claim on a source (or on delivering alerts) lasts unless renewed:
    # when a `sameday run` dies, its sources move to the other workers after this.
    lease: str = "2m"

    @field_validator("lease", mode="before")
    @classmethod
    def _lease(cls, value: Any) -> Any:
        if _duration(value).as_timedelta() < timedelta(seconds=5):
            raise ValueError("a lease shorter than 5s would expire while a poll is running")
        return value


class NotifyConfig(Strict):
    """One alert channel: any Apprise URL, the console the daemon runs in, or the owner's
    Discord bot (DMs with buttons, `monitor.discordbot`)."""

    type: Literal["apprise", "console", "discord"] = "apprise"
    url: str | None = Field(default=None, validate_default=True)
    # A stable name: alerts are remembered per channel, so renaming one re-sends nothing only
    # if the name stays. Default: the type and the position (`apprise-0`).
    name: str | None = None
    min_level: Literal["new", "reminder", "overdue"] = "new"
    digest: Literal["30m", "hourly", "daily"] | None = None
    give_up_after: str = "1d"  # a delivery failing this long is given up and shown by status
    # type: discord only. The user the bot DMs (default: owner.identities.discord), the bot's
    # token (default: the first discord source's) and the REST base (a proxy, a test server).
    user_id: str | None = None
    token: str | None = None
    api_base: str | None = None

    @field_validator("give_up_after", mode="before")
    @classmethod
    def _give_up(cls, value: Any) -> Any:
        _duration(value)
        return value

    @field_validator("user_id", mode="before")
    @classmethod
    def _user_id(cls, value: Any) -> Any:
        # A YAML number is as good as a quoted id; anything else is not a Discord user id.
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and not value.strip().isdigit():
            raise ValueError(
                "expected a Discord user id (digits): enable Developer Mode in Discord (User "
                "Settings → Advanced), then right-click yourself → Copy User ID"
            )
        return value.strip() if isinstance(value, str) else value

    @field_validator("url")
    @classmethod
    def _url_fits_type(cls, url: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("type", "apprise")
        if kind == "apprise" and not url:
            raise ValueError("required key is missing: an apprise channel needs a url (mailto://…)")
        if kind in ("console", "discord") and url:
            raise ValueError(f"a {kind} channel takes no url")
        if url and not _apprise_knows(url):
            raise ValueError(
                "not a notification URL Apprise understands; see "
                "https://github.com/caronc/apprise/wiki for each service's form (a password "
                "holding @ / : # ? must be percent-encoded there: @ is %40)"
            )
        return url

    @model_validator(mode="after")
    def _discord_keys(self) -> NotifyConfig:
        if self.type != "discord":
            extra = [k for k in ("user_id", "token", "api_base") if getattr(self, k) is not None]
            if extra:
                raise ValueError(f"{', '.join(extra)}: only for a channel of type: discord")
        return self


class ReportConfig(Strict):
    at: str | None = None

    @field_validator("at")
    @classmethod
    def _clock(cls, value: str | None) -> str | None:
        if value is not None:
            _parse_clock(value)
        return value


class SourceConfig(BaseModel):
    """Keys every source takes; the rest belongs to the connector and is checked by it."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str = Field(min_length=1)
    type: str
    every: str = "5m"
    backfill: str = "2d"
    owner: list[str] | None = None
    sla: SLAConfig = Field(default_factory=SLAConfig)
    enabled: bool = True

    @model_validator(mode="before")
    @classmethod
    def _empty_keys(cls, data: Any) -> Any:
        return _drop_nulls(data)

    @field_validator("every", mode="before")
    @classmethod
    def _every(cls, value: Any) -> Any:
        if _duration(value).as_timedelta().total_seconds() < 10:
            raise ValueError("polling more often than every 10s is refused; write e.g. 5m")
        return value

    @field_validator("backfill", mode="before")
    @classmethod
    def _backfill(cls, value: Any) -> Any:
        if value != "all":
            _duration(value, f"all or {DURATION_HINT}")
        return value

    @field_validator("owner", mode="before")
    @classmethod
    def _owner_list(cls, value: Any) -> Any:
        if isinstance(value, str | int):
            return [str(value)]
        if isinstance(value, list):
            return [str(v) for v in value]
        return value


class LLMConfig(Strict):
    """An OpenAI-compatible chat endpoint that refines drafts (Ollama, llama.cpp, vLLM, OpenAI)."""

    base_url: str
    model: str
    api_key: str | None = None
    timeout: str = "20s"

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: Any) -> Any:
        _duration(value)
        return value


class SuggestConfig(Strict):
    """Suggested replies: templates per intent, FAQ snippets, and an optional LLM."""

    templates: dict[str, str] = Field(default_factory=dict)  # intent -> Jinja2 template
    faq: dict[str, str] = Field(default_factory=dict)  # keyword -> answer
    llm: LLMConfig | None = None

    @field_validator("faq", mode="before")
    @classmethod
    def _faq_text(cls, value: Any) -> Any:
        # `opening hours: 8-6` parses the answer as text already; numbers stay readable text.
        if isinstance(value, Mapping):
            return {str(k): str(v) for k, v in value.items()}
        return value


class MetricsConfig(Strict):
    """`sameday run` serves Prometheus metrics at http://LISTEN/metrics (extra `metrics`)."""

    listen: str = "127.0.0.1:9464"
    cache: str = "15s"  # one set of queries serves every scrape within this long

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        from monitor.metrics import parse_listen  # light: prometheus-client loads on serve

        parse_listen(value)
        return value

    @field_validator("cache", mode="before")
    @classmethod
    def _cache(cls, value: Any) -> Any:
        _duration(value)
        return value


class FileConfig(Strict):
    owner: OwnerConfig = Field(default_factory=OwnerConfig)
    sla: SLAConfig = Field(default_factory=SLAConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    sources: list[SourceConfig] = Field(default_factory=list)
    notify: list[NotifyConfig] = Field(default_factory=list)
    quiet_hours: str | None = None
    report: ReportConfig = Field(default_factory=ReportConfig)
    suggest: SuggestConfig = Field(default_factory=SuggestConfig)
    metrics: MetricsConfig | None = None

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str | None) -> str | None:
        if value is not None:
            start, sep, end = value.partition("-")
            try:
                if not sep:
                    raise ValueError
                _parse_clock(start)
                _parse_clock(end)
            except ValueError:
                raise ValueError("expected a span of local times like 22:00-07:00") from None
        return value


def _apprise_knows(url: str) -> bool:
    import apprise  # imported here: loading every Apprise plugin takes a moment

    # Apprise logs a rejected URL with part of its password; our own message says enough.
    apprise_log = logging.getLogger("apprise")
    level = apprise_log.level
    apprise_log.setLevel(logging.CRITICAL + 1)
    try:
        return apprise.Apprise.instantiate(url, suppress_exceptions=True) is not None
    finally:
        apprise_log.setLevel(level)


def _parse_clock(text: str) -> time:
    try:
        hours, minutes = str(text).strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError("expected a time of day like 18:00") from None


# ---------------------------------------------------------------------------------------------
# What the rest of the program uses: validated, with policies and connector settings built.


@dataclass(frozen=True)
class Source:
    """One configured source, ready to poll."""

    name: str
    type: str
    every: Duration
    backfill: Duration | None  # None means "all": nothing is baseline on the first poll
    enabled: bool
    owner_identities: tuple[str, ...]
    policy: sla.Policy
    remind_before: Duration
    repeat_overdue: Duration
    connector_class: builtins.type[Connector]  # the field `type` above hides the builtin
    settings: BaseModel

    @property
    def alert_rules(self) -> AlertRules:
        return AlertRules(
            self.policy, self.remind_before.as_timedelta(), self.repeat_overdue.as_timedelta()
        )


@dataclass(frozen=True)
class Config:
    path: Path | None
    owner: OwnerConfig
    storage_url: str
    sources: tuple[Source, ...]
    notify: tuple[NotifyConfig, ...]
    quiet_hours: str | None
    report_at: str | None
    default_policy: sla.Policy
    lease: timedelta = timedelta(minutes=2)
    metrics: MetricsConfig | None = None
    suggest: SuggestConfig = field(default_factory=SuggestConfig)
    # Values that must never be shown: masked in logs and stored errors by `monitor.redact`.
    secrets: frozenset[str] = frozenset()

    @property
    def redact(self) -> Redactor:
        return Redactor(self.secrets)

    @property
    def report_time(self) -> time | None:
        """`report.at` as a local time of day in the owner's zone; None: no daily report."""
        return None if self.report_at is None else _parse_clock(self.report_at)

    @property
    def alert_rules(self) -> dict[str, AlertRules]:
        """Each source's alerting policy, for `Store.plan_alerts`."""
        return {source.name: source.alert_rules for source in self.sources}

    def source(self, name: str) -> Source:
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none"
        raise KeyError(f"no source named {name!r} (configured: {known})")


DEFAULT_SLA = SLAConfig(
    target=sla.SAME_DAY,
    business_hours="09:00-17:00",
    workdays=["mon", "tue", "wed", "thu", "fri"],
    holidays=[],
    business_time=False,
    remind_before="2h",
    repeat_overdue="4h",
)


def default_config_path() -> Path:
    """`$SAMEDAY_CONFIG`, else ``./sameday.yaml``."""
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_NAME)


def load_config(path: Path | str, environ: Mapping[str, str] | None = None) -> Config:
    """Read, substitute and validate the config at `path`. Raises `ConfigFileError`."""
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigFileError(
            path,
            [
                "file not found; copy config.example.yaml to sameday.yaml, or pass -c FILE, "
                f"or set ${CONFIG_ENV}"
            ],
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError(path, [f"cannot read the file: {exc}"]) from None
    return parse_config(text, path=path, environ=environ)


def parse_config(
    text: str, *, path: Path | str, environ: Mapping[str, str] | None = None
) -> Config:
    """Validate config text; `path` is only used in messages and to resolve relative paths.

    `environ` defaults to the process environment. Every problem found is reported at once.
    """
    node, raw = _read_yaml(text, path)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        got = "a list" if isinstance(raw, list) else "a single value"
        raise ConfigFileError(
            path, [f"the top level must be a mapping of keys (owner:, sources:…), not {got}"]
        )
    report = _Problems(_Locator(node))
    _check_duplicate_keys(node, (), report)
    raw = _substitute_env(raw, os.environ if environ is None else environ, (), report)

    # Each stage runs even when an earlier one failed, so one run shows every problem.
    try:
        parsed: FileConfig | None = FileConfig.model_validate(raw)
    except ValidationError as exc:
        parsed = None
        _describe(exc, FileConfig, (), report)
    connectors = _check_sources(raw.get("sources"), report)
    if parsed is None or report:
        raise ConfigFileError(path, report.messages())

    default_sla = _merge_sla(DEFAULT_SLA, SLAConfig(timezone=parsed.owner.timezone), parsed.sla)
    default_policy = _policy(default_sla, ("sla",), report)
    sources = _build_sources(parsed, default_sla, connectors, report)
    _check_channel_names(parsed.notify, report)
    notify = _discord_channels(parsed, raw.get("sources"), report)
    _check_templates(parsed, report)
    if report or default_policy is None:
        raise ConfigFileError(path, report.messages())
    return Config(
        path=Path(path),
        owner=parsed.owner,
        storage_url=parsed.storage.url or default_storage_url(),
        lease=parse_duration(parsed.storage.lease).as_timedelta(),
        metrics=parsed.metrics,
        sources=tuple(sources),
        notify=tuple(notify),
        quiet_hours=parsed.quiet_hours,
        report_at=parsed.report.at,
        suggest=parsed.suggest,
        default_policy=default_policy,
        secrets=frozenset(report.runtime_secrets),
    )


def default_storage_url() -> str:
    from platformdirs import user_data_dir

    return DEFAULT_STORAGE_URL.format(data_dir=user_data_dir("sameday", appauthor=False))


# ---------------------------------------------------------------------------------------------
# Reading the YAML.


class _Loader(yaml.SafeLoader):
    """The safe loader without two YAML 1.1 surprises: unquoted `18:00` is the integer 1080
    (base 60), and `2026-13-45` fails inside PyYAML with no line. Both stay text here, and the
    schema reads them (times of day, dates) with messages that name the key."""


_STR_TAG = "tag:yaml.org,2002:str"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_SEXAGESIMAL = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-9_]+)+(?:\.[0-9_]*)?$")
_Loader.yaml_implicit_resolvers = {
    first: ([(_STR_TAG, _SEXAGESIMAL)] if first and first in "+-0123456789" else [])
    + [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _read_yaml(text: str, path: Path | str) -> tuple[yaml.Node | None, Any]:
    """The composed node tree (for line numbers) and the plain data, from one parse."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigFileError(path, [f"{where}not valid YAML: {problem}"]) from None
    finally:
        loader.dispose()


def _check_duplicate_keys(node: yaml.Node | None, at: tuple[Any, ...], report: _Problems) -> None:
    # PyYAML keeps the last of two equal keys: a second `sources:` block would silently
    # replace the first one.
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            name = str(key.value)
            line = key.start_mark.line + 1
            if name in seen and name != "<<":
                report.add(
                    (*at, name),
                    f"written twice (first on line {seen[name]}); keep one, the second would "
                    "silently replace the first",
                    line=line,
                )
            seen.setdefault(name, line)
            _check_duplicate_keys(value, (*at, name), report)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _check_duplicate_keys(item, (*at, index), report)


# ---------------------------------------------------------------------------------------------
# Sources: connector types and settings, then the built `Source`s.


def channel_name(channel: NotifyConfig, index: int) -> str:
    """A channel's stable name: its own, else its type and position (``apprise-0``)."""
    return channel.name or f"{channel.type}-{index}"


def _check_templates(parsed: FileConfig, report: _Problems) -> None:
    """Compile the reply templates now: a broken one is a config error, not a failed poll."""
    if not parsed.suggest.templates:
        return
    from monitor.suggest import Suggester

    try:
        Suggester(
            owner_name=parsed.owner.name,
            signature=parsed.owner.signature,
            templates=parsed.suggest.templates,
            faq=parsed.suggest.faq,
        )
    except ValueError as exc:
        report.add(("suggest", "templates"), str(exc))


def _check_channel_names(channels: Sequence[NotifyConfig], report: _Problems) -> None:
    # Alerts are remembered per channel name: two channels sharing one would share alerts.
    seen: dict[str, int] = {}
    for index, channel in enumerate(channels):
        name = channel_name(channel, index)
        if name in seen:
            report.add(
                ("notify", index, "name"),
                f"the channel name {name!r} is already used by notify[{seen[name]}]; "
                "give each channel its own name:",
            )
        seen.setdefault(name, index)


def _discord_channels(
    parsed: FileConfig, raw_sources: Any, report: _Problems
) -> list[NotifyConfig]:
    """The channels, with each Discord channel's user id and token filled in from the owner's
    identities and the Discord sources when the channel leaves them out."""
    sources = raw_sources if isinstance(raw_sources, list) else []
    discord_sources = [
        s for s in sources if isinstance(s, dict) and s.get("type") == "discord" and s.get("token")
    ]
    owner_ids = [i for i in parsed.owner.identities.get("discord", []) if i.strip().isdigit()]
    resolved: list[NotifyConfig] = []
    tokens: dict[str, int] = {}
    for index, channel in enumerate(parsed.notify):
        if channel.type != "discord":
            resolved.append(channel)
            continue
        at = ("notify", index)
        fill: dict[str, Any] = {}
        if channel.token is None:
            if not discord_sources:
                report.add(
                    (*at, "type"),
                    'a discord channel needs the bot\'s token: add token: "${DISCORD_TOKEN}" to '
                    "it, or configure a source of type: discord whose token it then shares",
                )
                continue
            first = discord_sources[0]
            fill["token"] = str(first["token"])
            if channel.api_base is None and first.get("api_base"):
                fill["api_base"] = str(first["api_base"])
        if channel.user_id is None:
            if not owner_ids:
                report.add(
                    (*at, "type"),
                    'a discord channel needs the user to message: add user_id: "…" (your '
                    "Discord user id: Developer Mode, then right-click yourself → Copy User ID), "
                    "or list it under owner.identities.discord",
                )
                continue
            fill["user_id"] = owner_ids[0]
        done = channel.model_copy(update=fill)
        token = str(done.token)
        if token in tokens:
            report.add(
                (*at, "token"),
                f"notify[{tokens[token]}] is a discord channel with the same bot token; one bot "
                "answers one owner's buttons: keep one discord channel per token",
            )
        tokens.setdefault(token, index)
        resolved.append(done)
    return resolved


def _check_sources(
    raw_sources: Any, report: _Problems
) -> list[tuple[type[Connector], BaseModel] | None]:
    """Names, connector types and connector settings, per source, from the raw data.

    Read from the raw data rather than the validated `FileConfig` so that these problems are
    reported alongside any other problem in the file. Entries that are not mappings, or have
    no text `type`, are left to `FileConfig`'s own message.
    """
    seen: dict[str, int] = {}
    checked: list[tuple[type[Connector], BaseModel] | None] = []
    for index, entry in enumerate(raw_sources if isinstance(raw_sources, list) else []):
        at = ("sources", index)
        checked.append(None)
        if not isinstance(entry, dict):
            continue
        name, kind = entry.get("name"), entry.get("type")
        if isinstance(name, str) and name in seen:
            report.add(
                (*at, "name"),
                f"the name {name!r} is already used by sources[{seen[name]}]; "
                "every source needs its own name",
            )
        if isinstance(name, str):
            seen.setdefault(name, index)
        if not isinstance(kind, str):
            continue
        connector_class = connector_type(kind)
        if connector_class is None:
            known = installed()
            report.add(
                (*at, "type"),
                f"unknown connector type {kind!r} (installed: {', '.join(known) or 'none'})"
                + _did_you_mean(kind, known),
            )
            continue
        own = {
            key: value
            for key, value in entry.items()
            if key not in SourceConfig.model_fields and value is not None
        }
        try:
            settings = connector_class.Settings.model_validate(own)
        except ValidationError as exc:
            # A typo of a common key (`evry`) reaches the connector: suggest those keys too.
            _describe(exc, connector_class.Settings, at, report, also=SourceConfig.model_fields)
            continue
        checked[index] = (connector_class, settings)
    return checked


def _build_sources(
    parsed: FileConfig,
    default_sla: SLAConfig,
    connectors: list[tuple[type[Connector], BaseModel] | None],
    report: _Problems,
) -> list[Source]:
    sources: list[Source] = []
    for index, (source, checked) in enumerate(zip(parsed.sources, connectors, strict=True)):
        assert checked is not None  # `_check_sources` reported every source it could not check
        connector_class, settings = checked
        merged = _merge_sla(default_sla, source.sla)
        policy = _policy(merged, ("sources", index, "sla"), report)
        if policy is None:
            continue
        identities = source.owner or parsed.owner.identities.get(source.type, [])
        sources.append(
            Source(
                name=source.name,
                type=source.type,
                every=parse_duration(source.every),
                backfill=None if source.backfill == "all" else parse_duration(source.backfill),
                enabled=source.enabled,
                owner_identities=tuple(identities),
                policy=policy,
                remind_before=parse_duration(merged.remind_before or "2h"),
                repeat_overdue=parse_duration(merged.repeat_overdue or "4h"),
                connector_class=connector_class,
                settings=settings,
            )
        )
    return sources


def _merge_sla(*layers: SLAConfig) -> SLAConfig:
    """Later layers win, key by key: a source overriding `target` keeps the owner's hours."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(layer.model_dump(exclude_none=True))
    return SLAConfig.model_validate(merged)


def _policy(merged: SLAConfig, at: tuple[Any, ...], report: _Problems) -> sla.Policy | None:
    assert merged.business_hours and merged.workdays is not None and merged.timezone
    opens, closes = sla.parse_business_hours(merged.business_hours)
    target = merged.target or sla.SAME_DAY
    try:
        return sla.Policy(
            timezone=ZoneInfo(merged.timezone),
            opens=opens,
            closes=closes,
            workdays=sla.parse_workdays(merged.workdays),
            holidays=frozenset(merged.holidays or ()),
            target=target if target == sla.SAME_DAY else parse_duration(target),
            business_time=bool(merged.business_time),
        )
    except ValueError as exc:
        report.add(at, str(exc))
        return None


# ---------------------------------------------------------------------------------------------
# ${VAR} substitution. Done on parsed values, not on the text, so a value from the environment
# can never change the YAML's structure. Substituted values, and values under keys that look
# secret, are remembered so that no error message ever shows them.


def _substitute_env(
    value: Any,
    environ: Mapping[str, str],
    at: tuple[Any, ...],
    report: _Problems,
    hidden: bool = False,
) -> Any:
    if isinstance(value, dict):
        return {
            k: _substitute_env(v, environ, (*at, k), report, hidden or _looks_secret_key(k))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_substitute_env(v, environ, (*at, i), report, hidden) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        if hidden and isinstance(value, str):
            report.secret_values.add(value)
            if not _is_address(value):
                report.runtime_secrets.add(value)
            elif password := urlsplit(value).password:  # a URL is not secret; its password is
                report.runtime_secrets.add(unquote(password))
        return value

    from_env: list[str] = []
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ:
            from_env.append(environ[name])
            return environ[name]
        if default is not None:
            return default  # written in the file: no secret
        missing.append(name)
        return ""

    result = _ENV_REF.sub(replace, value)
    for name in missing:
        report.add(
            at,
            f"environment variable ${{{name}}} is not set; "
            f"export {name}=… before starting sameday (or write ${{{name}:-default}})",
        )
    if missing:
        report.missing_paths.add(at)
    if from_env or hidden:
        report.secret_paths.add(at)
        report.secret_values.update([*from_env, result])
        report.runtime_secrets.update(from_env)
    return result


def _is_address(value: str) -> bool:
    return "://" in value or value.startswith(("/", "~"))


# ---------------------------------------------------------------------------------------------
# Turning problems into sentences with the file's key paths and line numbers.

# pydantic's wording for wrong shapes names its classes; say what to write instead.
_PLAIN_MESSAGES = {
    "model_type": "expected a mapping: indented `key: value` lines",
    "model_attributes_type": "expected a mapping: indented `key: value` lines",
    "dict_type": "expected a mapping: indented `key: value` lines",
    "list_type": "expected a list: `- item` lines, or [a, b]",
    "string_type": "expected text (quote it if it looks like a number)",
    "missing": "required key is missing",
}


class _Problems:
    """Every problem in one file, collected so that all of them are reported at once."""

    def __init__(self, locate: _Locator) -> None:
        self.locate = locate
        self.found: list[tuple[int, str]] = []
        self.secret_paths: set[tuple[Any, ...]] = set()  # values that came from ${VAR}
        self.secret_values: set[str] = set()  # text that no message may contain
        self.runtime_secrets: set[str] = set()  # text no log line or stored error may contain
        self.missing_paths: set[tuple[Any, ...]] = set()  # unset ${VAR}: reported once, there

    def __bool__(self) -> bool:
        return bool(self.found)

    def add(self, loc: tuple[Any, ...], message: str, line: int | None = None) -> None:
        if loc in self.missing_paths:
            return  # the empty value of an unset variable would only repeat that problem
        line = self.locate.line(loc) if line is None else line
        where = f"line {line}: " if line else ""
        self.found.append((line or 0, f"{where}{_path(loc)}: {message}"))

    def messages(self) -> list[str]:
        """In file order, with secrets blanked out wherever a validator quoted them."""
        return [self._redact(text) for _, text in sorted(self.found, key=lambda f: f[0])]

    def _redact(self, text: str) -> str:
        for secret in sorted(self.secret_values, key=len, reverse=True):
            if len(secret) >= 4:
                text = text.replace(secret, "***")
            elif secret:  # too short to blank everywhere without mangling the sentence
                text = text.replace(repr(secret), "'***'")
        return text


def _describe(
    exc: ValidationError,
    model: type[BaseModel],
    prefix: tuple[Any, ...],
    report: _Problems,
    also: Iterable[str] = (),
) -> None:
    for error in exc.errors(include_url=False):
        loc = prefix + tuple(error["loc"])
        if error["type"] == "extra_forbidden":
            key = str(error["loc"][-1])
            hint = _did_you_mean(key, [*_fields_at(model, error["loc"][:-1]), *also])
            report.add(loc, f"unknown key{hint}")
            continue
        message = _PLAIN_MESSAGES.get(error["type"]) or str(error["msg"]).removeprefix(
            "Value error, "
        )
        hidden = loc in report.secret_paths or _looks_secret(loc)
        report.add(loc, message + ("" if hidden else _shown(error.get("input"), message)))


def _shown(value: Any, message: str) -> str:
    """`` (got 'often')`` for short scalar inputs the message does not quote already."""
    if isinstance(value, dict | list) or value is None:
        return ""
    text = repr(value)
    # Some validators (sla's, durations') quote the value already; a quoted string is distinctive
    # enough to look for, a number ("greater than 0") is not.
    quoted = isinstance(value, str) and text in message
    return f" (got {text})" if len(text) <= 60 and not quoted else ""


def _looks_secret_key(key: Any) -> bool:
    return any(word in _SECRET_WORDS for word in re.split(r"[_\-.\s]+", str(key).lower()))


def _looks_secret(loc: tuple[Any, ...]) -> bool:
    # Any key on the path counts: `client_secret[0]` is as secret as `client_secret`.
    return any(isinstance(part, str) and _looks_secret_key(part) for part in loc)


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> Iterator[str]:
    """Field names valid at `loc` inside `model`, for did-you-mean hints."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return iter(())
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        current = next(
            (a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)),
            None,
        )
        if current is None:
            return iter(())
    return iter(getattr(current, "model_fields", {}))


def _did_you_mean(word: str, candidates: Any) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


class _Locator:
    """Finds the line of a key path in the composed YAML, for messages like ``line 14:``."""

    def __init__(self, root: yaml.Node | None) -> None:
        self.root = root

    def line(self, loc: tuple[Any, ...]) -> int | None:
        """The line of the deepest part of `loc` found in the file; None for the top level."""
        node = self.root
        found = None
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                # The last of equal keys, as that is the value PyYAML keeps.
                matches = [(k, v) for k, v in node.value if getattr(k, "value", None) == str(part)]
                if not matches:
                    break
                found, node = matches[-1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if part >= len(node.value):
                    break
                node = node.value[part]
                found = node
            else:
                break
        target = found or node
        if target is None or target is self.root:
            return None
        return target.start_mark.line + 1
