"""The optional Prometheus endpoint: items received, answered, dismissed, open and overdue, the
response latency histogram and each source's health, per source, read from the store.

Nothing is counted in this process. Several `sameday run` daemons may share one PostgreSQL
store, and a restart must not reset a counter, so every scrape reads one `Snapshot` of SQL
aggregates from the store (`SnapshotSource`, which `monitor.store.Store` implements) through a
custom collector. The snapshot is kept for `cache_s` seconds: a burst of scrapes (several
Prometheus servers, a dashboard reloading) costs one set of queries.

Definitions, over items that are not ``baseline`` (DESIGN.md's vocabulary):

* ``sameday_items_received_total``: items ever stored.
* ``sameday_items_answered_total{how}``: items that were answered, ``detected`` (an owner
  reply was seen) or ``manual`` (the owner said so). Counted by ``answered_at``, not by the
  current status, so that a counter never goes down when the owner later snoozes or dismisses
  an answered item; such an item then counts in two places, and received = answered +
  dismissed + open holds only while nobody reopens anything.
* ``sameday_items_dismissed_total``: items the owner said need no reply.
* ``sameday_items_open`` / ``sameday_items_overdue``: waiting for an answer (open or snoozed,
  as ``sameday status`` counts them), and of those the ones whose ``due_at`` has passed.
* ``sameday_response_latency_seconds``: wall-clock latency (``answered_at - created_at``,
  never negative) of answered items, with buckets from 5 minutes to a week.
* ``sameday_source_up``: 1 when the source's last poll succeeded and it is not a blind spot
  (no success for more than 3x its interval; `monitor.views.is_blind_spot`).
* ``sameday_outbox_pending{channel}``: alerts written and not yet delivered.

Label values are source and channel names from the config, never anything a commenter wrote.
prometheus-client is an optional dependency (``pip install 'sameday[metrics]'``): this module
imports without it, and `serve` says what to install.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from monitor.models import SourceRow
from monitor.views import is_blind_spot

if TYPE_CHECKING:  # prometheus-client is optional: imported only when serving
    from prometheus_client.metrics_core import Metric

__all__ = [
    "DEFAULT_PORT",
    "INSTALL_HINT",
    "LATENCY_BUCKETS",
    "ItemCounts",
    "MetricsError",
    "MetricsServer",
    "SamedayCollector",
    "Snapshot",
    "SnapshotFailed",
    "SnapshotSource",
    "parse_listen",
    "serve",
    "snapshots_of",
]

log = logging.getLogger("sameday.metrics")

DEFAULT_PORT = 9464  # the port registered for OpenTelemetry's Prometheus exporter; free otherwise
INSTALL_HINT = "the metrics endpoint needs prometheus-client: pip install 'sameday[metrics]'"

# Upper bounds (seconds) of the latency histogram: fine below an hour, where a same-day target
# is comfortably met, then doubling up to the days and the week that mean it was missed.
LATENCY_BUCKETS: tuple[float, ...] = (
    5 * 60.0,
    15 * 60.0,
    30 * 60.0,
    3600.0,
    2 * 3600.0,
    4 * 3600.0,
    8 * 3600.0,
    86400.0,
    2 * 86400.0,
    7 * 86400.0,
)

Clock = Callable[[], datetime]


class MetricsError(Exception):
    """The endpoint cannot start: prometheus-client is missing, or the address is taken."""


class SnapshotFailed(RuntimeError):
    """Reading the store for a scrape failed (logged once; the scrape answers 503)."""


# -- what the store hands over ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemCounts:
    """One source's item aggregates (see the module docstring for each figure's meaning)."""

    received: int = 0
    answered_detected: int = 0
    answered_manual: int = 0
    dismissed: int = 0
    open: int = 0
    overdue: int = 0
    # Cumulative: answered items with a latency at or under each `LATENCY_BUCKETS` bound.
    latency_buckets: tuple[int, ...] = (0,) * len(LATENCY_BUCKETS)
    latency_count: int = 0  # every answered item: the histogram's +Inf bucket
    latency_sum: float = 0.0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one scrape reports, read from the store at `taken_at` (overdue is as of then)."""

    taken_at: datetime
    items: Mapping[str, ItemCounts] = field(default_factory=dict)
    sources: Mapping[str, SourceRow] = field(default_factory=dict)  # health, by name
    outbox_pending: Mapping[str, int] = field(default_factory=dict)  # by channel


@runtime_checkable
class SnapshotSource(Protocol):
    """Whatever can read a `Snapshot`: `monitor.store.Store` (the only module that talks SQL).

    `channels` limits the outbox counts to those names (with zeros for the idle ones); None
    counts every channel that has pending alerts.
    """

    def metrics_snapshot(
        self, now: datetime, *, channels: Sequence[str] | None = None
    ) -> Snapshot: ...


def snapshots_of(target: SnapshotSource) -> SnapshotSource:
    """The `SnapshotSource` to read: a `monitor.store.Store` is one."""
    if not isinstance(target, SnapshotSource):
        raise TypeError(f"cannot read metrics from {type(target).__name__}: give a Store")
    return target


# -- the collector ------------------------------------------------------------------------------


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SamedayCollector:
    """A prometheus_client collector that reports a cached store `Snapshot` on each scrape.

    `intervals` maps each configured source to its poll interval (None: switched off). When
    given, exactly those sources are reported (with zeros when they have no items), blind
    spots are judged by the intervals, and a switched-off source gets no ``sameday_source_up``
    (nobody expects it to poll). Without it, every source the store knows is reported and
    ``up`` only says whether the last poll succeeded.
    """

    def __init__(
        self,
        source: SnapshotSource,
        *,
        intervals: Mapping[str, timedelta | None] | None = None,
        channels: Sequence[str] | None = None,
        clock: Clock = _utc_now,
        cache_s: float = 15.0,
    ) -> None:
        if cache_s < 0:
            raise ValueError(f"cache_s must be 0 or more, not {cache_s}")
        self._source = source
        self._intervals = dict(intervals) if intervals is not None else None
        self._channels = list(channels) if channels is not None else None
        self._clock = clock
        self._cache_s = cache_s
        # One lock for the cache: concurrent scrapes wait for the one query instead of each
        # sending their own (the HTTP server answers each request in a thread).
        self._lock = threading.Lock()
        self._taken_at: datetime | None = None
        self._cached: Snapshot | None = None
        self._failure: str | None = None

    def snapshot(self) -> Snapshot:
        """The store's figures, read again only when the cached ones are `cache_s` old.

        A failed read is remembered for as long, so a store that is down is not asked again
        by every scrape; raises `SnapshotFailed`.
        """
        with self._lock:
            now = self._clock()
            if self._fresh(now):
                if self._failure is not None:
                    raise SnapshotFailed(self._failure)
                assert self._cached is not None
                return self._cached
            self._taken_at = now
            try:
                self._cached = self._source.metrics_snapshot(now, channels=self._channels)
            except Exception as exc:
                self._cached = None
                # The first line: SQLAlchemy goes on with the whole statement and parameters.
                first = next(iter(str(exc).splitlines()), "")
                self._failure = f"reading the store failed: {type(exc).__name__}: {first}"
                log.warning("metrics: %s", self._failure)
                raise SnapshotFailed(self._failure) from exc
            self._failure = None
            return self._cached

    def _fresh(self, now: datetime) -> bool:
        if self._taken_at is None:
            return False
        age = (now - self._taken_at).total_seconds()
        return 0 <= age < self._cache_s  # a clock that went back makes the cache stale

    def describe(self) -> Iterator[Metric]:
        """The metric names without values: registering must not query the store."""
        yield from _Families().all()

    def collect(self) -> Iterator[Metric]:
        snapshot = self.snapshot()
        families = _Families()
        for name in self._source_names(snapshot):
            families.add_items(name, snapshot.items.get(name, ItemCounts()))
            row = snapshot.sources.get(name)
            every = (self._intervals or {}).get(name)
            if self._intervals is not None and every is None:  # switched off in the config
                families.add_health(name, row, up=None)
            else:
                families.add_health(name, row, up=_is_up(row, every, snapshot.taken_at))
        for channel, pending in sorted(snapshot.outbox_pending.items()):
            families.outbox.add_metric([channel], pending)
        yield from families.all()

    def _source_names(self, snapshot: Snapshot) -> list[str]:
        if self._intervals is not None:
            return sorted(self._intervals)
        return sorted(set(snapshot.items) | set(snapshot.sources))


def _is_up(row: SourceRow | None, every: timedelta | None, now: datetime) -> bool:
    """The last poll succeeded and, when the interval is known, the source is no blind spot."""
    if row is None or row.last_success_at is None or row.consecutive_failures:
        return False
    return every is None or not is_blind_spot(row, every, now)


class _Families:
    """The metric families of one scrape, empty until filled (`describe` yields them empty)."""

    def __init__(self) -> None:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        source = ["source"]
        self.received = CounterMetricFamily(
            "sameday_items_received",
            "Items stored (comments, replies, mentions to answer), baseline excluded.",
            labels=source,
        )
        self.answered = CounterMetricFamily(
            "sameday_items_answered",
            "Items answered: how=detected (an owner reply was seen) or manual (marked by hand).",
            labels=["source", "how"],
        )
        self.dismissed = CounterMetricFamily(
            "sameday_items_dismissed", "Items the owner said need no reply.", labels=source
        )
        self.open = GaugeMetricFamily(
            "sameday_items_open", "Items waiting for an answer (open or snoozed).", labels=source
        )
        self.overdue = GaugeMetricFamily(
            "sameday_items_overdue",
            "Items waiting for an answer whose deadline (due_at) has passed.",
            labels=source,
        )
        self.latency = HistogramMetricFamily(
            "sameday_response_latency_seconds",
            "Wall-clock time from an item's creation to its answer, of answered items.",
            labels=source,
        )
        self.up = GaugeMetricFamily(
            "sameday_source_up",
            "1 when the source's last poll succeeded and it is not a blind spot, else 0.",
            labels=source,
        )
        self.last_success = GaugeMetricFamily(
            "sameday_source_last_success_timestamp_seconds",
            "When the source was last polled successfully (Unix time); absent if never.",
            labels=source,
        )
        self.failures = GaugeMetricFamily(
            "sameday_source_consecutive_failures",
            "Polls of the source that failed in a row since its last success.",
            labels=source,
        )
        self.outbox = GaugeMetricFamily(
            "sameday_outbox_pending",
            "Alerts written to the outbox and not yet delivered, per channel.",
            labels=["channel"],
        )

    def all(self) -> Iterable[Metric]:
        return (
            self.received,
            self.answered,
            self.dismissed,
            self.open,
            self.overdue,
            self.latency,
            self.up,
            self.last_success,
            self.failures,
            self.outbox,
        )

    def add_items(self, name: str, counts: ItemCounts) -> None:
        from prometheus_client.utils import floatToGoString

        self.received.add_metric([name], counts.received)
        self.answered.add_metric([name, "detected"], counts.answered_detected)
        self.answered.add_metric([name, "manual"], counts.answered_manual)
        self.dismissed.add_metric([name], counts.dismissed)
        self.open.add_metric([name], counts.open)
        self.overdue.add_metric([name], counts.overdue)
        # Bounds written the way prometheus_client's own histograms write them ("300.0").
        buckets = [
            (floatToGoString(bound), float(n))
            for bound, n in zip(LATENCY_BUCKETS, counts.latency_buckets, strict=True)
        ]
        buckets.append(("+Inf", float(counts.latency_count)))
        self.latency.add_metric([name], buckets, counts.latency_sum)

    def add_health(self, name: str, row: SourceRow | None, *, up: bool | None) -> None:
        if up is not None:
            self.up.add_metric([name], 1.0 if up else 0.0)
        if row is not None and row.last_success_at is not None:
            self.last_success.add_metric([name], row.last_success_at.timestamp())
        self.failures.add_metric([name], row.consecutive_failures if row is not None else 0)


# -- the HTTP endpoint --------------------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line on stderr per scrape would drown the daemon's own log


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a scrape in flight never holds up the daemon's exit


class _Server6(_Server):
    address_family = socket.AF_INET6


@dataclass
class MetricsServer:
    """The running endpoint: `port` is the one bound (useful with port 0); `stop` ends it."""

    host: str
    port: int
    collector: SamedayCollector
    _server: WSGIServer
    _thread: threading.Thread

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and close the socket; waits up to `timeout` for the server thread."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout)

    def __enter__(self) -> MetricsServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def serve(
    store: SnapshotSource,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    intervals: Mapping[str, timedelta | None] | None = None,
    channels: Sequence[str] | None = None,
    clock: Clock = _utc_now,
    cache_s: float = 15.0,
) -> MetricsServer:
    """Serve the metrics of `store` at ``http://host:port/metrics`` from a daemon thread.

    The collector is registered on a registry of its own, not prometheus_client's global one
    (which would add this process's Python and GC metrics, and clash in tests). Port 0 binds
    a free port (see `MetricsServer.port`). `intervals` and `channels`: see `SamedayCollector`
    and `SnapshotSource`. Raises `MetricsError` when prometheus-client is not installed or the
    address cannot be bound.

    Example (what ``sameday run`` does with ``metrics: {listen: "127.0.0.1:9464"}``)::

        server = serve(store, *parse_listen(listen), intervals=intervals, channels=names)
        ...
        server.stop()
    """
    try:
        from prometheus_client import CollectorRegistry, make_wsgi_app
    except ImportError:
        raise MetricsError(INSTALL_HINT) from None
    collector = SamedayCollector(
        snapshots_of(store), intervals=intervals, channels=channels, clock=clock, cache_s=cache_s
    )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    app = _answering_503(make_wsgi_app(registry))
    server_class = _Server6 if _is_ipv6(host, port) else _Server
    try:
        server = make_server(host, port, app, server_class, _QuietHandler)
    except OSError as exc:
        raise MetricsError(
            f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}"
        ) from None
    # A short poll interval: `stop` waits up to one for the loop to notice.
    thread = threading.Thread(
        target=server.serve_forever, args=(0.1,), name="sameday-metrics", daemon=True
    )
    thread.start()
    bound = server.server_address[1]
    log.info("metrics: serving on %s:%s", host, bound)
    return MetricsServer(host, bound, collector, server, thread)


def _answering_503(app: Callable[..., Any]) -> Callable[..., Any]:
    """`app`, answering 503 when the store cannot be read: Prometheus marks the target down
    (its own ``up`` metric) rather than storing zeros that never happened."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        try:
            return app(environ, start_response)
        except SnapshotFailed:
            pass  # logged when it happened, not again for each scrape
        except Exception:
            log.exception("metrics: the scrape failed")
        start_response("503 Service Unavailable", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"the sameday store could not be read; see the sameday log\n"]

    return wrapped


def _is_ipv6(host: str, port: int) -> bool:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return False  # make_server will fail with a message that names the host
    return bool(infos) and infos[0][0] == socket.AF_INET6


def parse_listen(text: str) -> tuple[str, int]:
    """``host:port`` as the config writes it → (host, port); a bare port listens on 127.0.0.1.

    >>> parse_listen("127.0.0.1:9464"), parse_listen("[::1]:9464"), parse_listen("9464")
    (('127.0.0.1', 9464), ('::1', 9464), ('127.0.0.1', 9464))
    """
    host, sep, port = text.strip().rpartition(":")
    if not sep:
        host, port = "127.0.0.1", text.strip()
    bracketed = host.startswith("[") and host.endswith("]")
    host = host[1:-1] if bracketed else host
    # An IPv6 address needs its brackets: in "::1:9464" nobody can tell where the port starts.
    if not port.isdigit() or int(port) > 65535 or (":" in host and not bracketed):
        example = f"127.0.0.1:{DEFAULT_PORT} or [::1]:{DEFAULT_PORT}"
        raise ValueError(f"{text!r} is not host:port; write e.g. {example}")
    return host or "127.0.0.1", int(port)
