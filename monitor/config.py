"""The one YAML config file: loading, ``${VAR}`` secrets, validation, and errors a person can fix.

Every problem is reported as a `ConfigFileError` naming the file, the line, the key path
(``sources[2].every``) and what was expected. Loading never writes anything, so a bad config
leaves the store untouched; the CLI turns the error into exit code 2.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from connectors.base import Connector, registry
from monitor import sla
from monitor.durations import Duration, parse_duration

DEFAULT_CONFIG_NAME = "sameday.yaml"
CONFIG_ENV = "SAMEDAY_CONFIG"
DEFAULT_STORAGE_URL = "sqlite:///{data_dir}/sameday.db"

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigFileError(Exception):
    """A config problem, already worded for the owner: file, line, key path, what to write."""

    def __init__(self, path: Path | str, problems: Sequence[str]) -> None:
        self.path = str(path)
        self.problems = list(problems)
        listed = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"config error in {self.path}:\n{listed}")


# ---------------------------------------------------------------------------------------------
# The schema. Every model forbids unknown keys: a typo must not pass silently.


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _duration(value: Any) -> Duration:
    if isinstance(value, Duration):
        return value
    return parse_duration(str(value))


class SLAConfig(Strict):
    """A deadline policy; every key optional so a source can override just one."""

    timezone: str | None = None
    target: str | None = None
    business_hours: str | None = None
    workdays: list[str] | None = None
    holidays: list[date] | None = None
    business_time: bool | None = None
    remind_before: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"unknown time zone {value!r}; use an IANA name like America/New_York"
                ) from None
        return value

    @field_validator("target")
    @classmethod
    def _target(cls, value: str | None) -> str | None:
        if value is not None and value != sla.SAME_DAY:
            _duration(value)
        return value

    @field_validator("remind_before")
    @classmethod
    def _remind(cls, value: str | None) -> str | None:
        if value is not None:
            _duration(value)
        return value

    @field_validator("business_hours")
    @classmethod
    def _hours(cls, value: str | None) -> str | None:
        if value is not None:
            sla.parse_business_hours(value)
        return value

    @field_validator("workdays")
    @classmethod
    def _days(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            sla.parse_workdays(value)
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
        SLAConfig._known_zone(value)
        return value

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


class NotifyConfig(Strict):
    url: str
    min_level: Literal["new", "reminder", "overdue"] = "new"
    digest: Literal["30m", "hourly", "daily"] | None = None


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

    @field_validator("every")
    @classmethod
    def _every(cls, value: str) -> str:
        if _duration(value).as_timedelta().total_seconds() < 10:
            raise ValueError("polling more often than every 10s is refused; write e.g. 5m")
        return value

    @field_validator("backfill")
    @classmethod
    def _backfill(cls, value: str) -> str:
        if value != "all":
            _duration(value)
        return value

    @field_validator("owner", mode="before")
    @classmethod
    def _owner_list(cls, value: Any) -> Any:
        if isinstance(value, str | int):
            return [str(value)]
        if isinstance(value, list):
            return [str(v) for v in value]
        return value


class FileConfig(Strict):
    owner: OwnerConfig = Field(default_factory=OwnerConfig)
    sla: SLAConfig = Field(default_factory=SLAConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    sources: list[SourceConfig] = Field(default_factory=list)
    notify: list[NotifyConfig] = Field(default_factory=list)
    quiet_hours: str | None = None
    report: ReportConfig = Field(default_factory=ReportConfig)

    @model_validator(mode="before")
    @classmethod
    def _empty_sections(cls, data: Any) -> Any:
        # `storage:` with only comments under it is YAML null: the same as leaving it out.
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str | None) -> str | None:
        if value is not None:
            start, sep, end = value.partition("-")
            if not sep:
                raise ValueError(f"expected a span like 22:00-07:00, got {value!r}")
            _parse_clock(start)
            _parse_clock(end)
        return value


def _parse_clock(text: str) -> time:
    try:
        hours, minutes = str(text).strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"expected a time of day like 18:00, got {text!r}") from None


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
    connector_class: type[Connector]
    settings: BaseModel


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
    return parse_config(text, path=path, environ=os.environ if environ is None else environ)


def parse_config(text: str, *, path: Path | str, environ: Mapping[str, str]) -> Config:
    """Validate config text; `path` is only used in messages and to resolve relative paths."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigFileError(path, [f"{where}not valid YAML: {problem}"]) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigFileError(path, ["the top level must be a mapping of keys (owner:, sources:…)"])
    locate = _Locator(node)

    secret_paths: set[tuple[Any, ...]] = set()
    missing: list[str] = []
    raw = _substitute_env(raw, environ, (), secret_paths, missing, locate)
    if missing:
        raise ConfigFileError(path, missing)

    try:
        parsed = FileConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigFileError(
            path, _describe(exc, FileConfig, (), secret_paths, locate)
        ) from None

    problems: list[str] = []
    default_sla = _merge_sla(DEFAULT_SLA, SLAConfig(timezone=parsed.owner.timezone), parsed.sla)
    default_policy = _policy(default_sla, ("sla",), problems, locate)
    sources = _build_sources(parsed, default_sla, secret_paths, problems, locate)
    if problems:
        raise ConfigFileError(path, problems)
    assert default_policy is not None
    return Config(
        path=Path(path),
        owner=parsed.owner,
        storage_url=parsed.storage.url or default_storage_url(),
        sources=tuple(sources),
        notify=tuple(parsed.notify),
        quiet_hours=parsed.quiet_hours,
        report_at=parsed.report.at,
        default_policy=default_policy,
    )


def default_storage_url() -> str:
    from platformdirs import user_data_dir

    return DEFAULT_STORAGE_URL.format(data_dir=user_data_dir("sameday", appauthor=False))


def _build_sources(
    parsed: FileConfig,
    default_sla: SLAConfig,
    secret_paths: set[tuple[Any, ...]],
    problems: list[str],
    locate: _Locator,
) -> list[Source]:
    connectors = registry()
    seen: dict[str, int] = {}
    sources: list[Source] = []
    for index, source in enumerate(parsed.sources):
        at = ("sources", index)
        if source.name in seen:
            problems.append(
                f"{locate.where(at + ('name',))}{_path(at + ('name',))}: the name "
                f"{source.name!r} is already used by sources[{seen[source.name]}]; "
                "every source needs its own name"
            )
        seen.setdefault(source.name, index)
        connector_class = connectors.get(source.type)
        if connector_class is None:
            hint = _did_you_mean(source.type, connectors)
            problems.append(
                f"{locate.where(at + ('type',))}{_path(at + ('type',))}: unknown connector type "
                f"{source.type!r}{hint}; installed: {', '.join(sorted(connectors)) or 'none'}"
            )
            continue
        extra = dict(source.model_extra or {})
        try:
            settings = connector_class.Settings.model_validate(extra)
        except ValidationError as exc:
            problems.extend(_describe(exc, connector_class.Settings, at, secret_paths, locate))
            continue
        merged = _merge_sla(default_sla, source.sla)
        policy = _policy(merged, at + ("sla",), problems, locate)
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


def _policy(
    merged: SLAConfig, at: tuple[Any, ...], problems: list[str], locate: _Locator
) -> sla.Policy | None:
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
        problems.append(f"{locate.where(at)}{_path(at)}: {exc}")
        return None


# ---------------------------------------------------------------------------------------------
# ${VAR} substitution. Done on parsed values, not on the text, so a value from the environment
# can never change the YAML's structure; substituted paths are remembered so that no error
# message ever echoes their (likely secret) values.


def _substitute_env(
    value: Any,
    environ: Mapping[str, str],
    at: tuple[Any, ...],
    secret_paths: set[tuple[Any, ...]],
    missing: list[str],
    locate: _Locator,
) -> Any:
    if isinstance(value, dict):
        return {
            k: _substitute_env(v, environ, (*at, k), secret_paths, missing, locate)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            _substitute_env(v, environ, (*at, i), secret_paths, missing, locate)
            for i, v in enumerate(value)
        ]
    if not isinstance(value, str) or "${" not in value:
        return value

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        missing.append(
            f"{locate.where(at)}{_path(at)}: environment variable ${{{name}}} is not set; "
            f"export {name}=… before starting sameday (or write ${{{name}:-default}})"
        )
        return ""

    secret_paths.add(at)
    return _ENV_REF.sub(replace, value)


# ---------------------------------------------------------------------------------------------
# Turning pydantic's errors into sentences with the file's key paths and line numbers.


def _describe(
    exc: ValidationError,
    model: type[BaseModel],
    prefix: tuple[Any, ...],
    secret_paths: set[tuple[Any, ...]],
    locate: _Locator,
) -> list[str]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = prefix + tuple(error["loc"])
        where = locate.where(loc)
        if error["type"] == "extra_forbidden":
            key = str(error["loc"][-1])
            hint = _did_you_mean(key, _fields_at(model, error["loc"][:-1]))
            problems.append(f"{where}{_path(loc)}: unknown key{hint}")
            continue
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "missing":
            problems.append(f"{where}{_path(loc)}: required key is missing")
            continue
        shown = "" if loc in secret_paths or _looks_secret(loc) else _shown(error.get("input"))
        problems.append(f"{where}{_path(loc)}: {message}{shown}")
    return problems


def _shown(value: Any) -> str:
    """`` (got 'often')`` for short scalar inputs; nothing for structures or long values."""
    if isinstance(value, dict | list) or value is None:
        return ""
    text = repr(value)
    return f" (got {text})" if len(text) <= 60 else ""


def _looks_secret(loc: tuple[Any, ...]) -> bool:
    key = str(loc[-1]).lower() if loc else ""
    return any(word in key for word in ("secret", "password", "token", "key", "url"))


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

    def where(self, loc: tuple[Any, ...]) -> str:
        node = self.root
        found = None
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                match = next(
                    ((k, v) for k, v in node.value if getattr(k, "value", None) == str(part)),
                    None,
                )
                if match is None:
                    break
                found, node = match[0], match[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if part >= len(node.value):
                    break
                node = node.value[part]
                found = node
            else:
                break
        target = found or node
        if target is None or target is self.root:
            return ""
        return f"line {target.start_mark.line + 1}: "
