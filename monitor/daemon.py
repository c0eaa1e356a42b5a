"""The daemon behind `sameday run`: polls every source on its own schedule and delivers alerts.

Three kinds of thread, each owning one job:

- **the main loop** owns the schedule (the `schedule` library's `Scheduler` and `Job`, on the
  daemon's clock): it hands a due source to the pool and sets the source's next run when the
  poll comes back. A source has one job, and its job is parked while a poll is in flight, so two
  polls of one source never run at once.
- **the poll pool** (`concurrent.futures`, ``min(16, sources)`` threads) runs `poll_source`; a
  slow or hanging source holds one thread, bounded by its connector's own network timeout, and
  the others go on. After a poll the thread decides the next one: ``every`` less up to 10 % jitter
  from the poll's start; after failures, ``every × 2^failures`` from its end, capped at an hour
  (never below ``every``), or the platform's Retry-After when that is longer. It writes the
  time with `Store.set_next_poll`, which `sameday status` shows; a restart keeps a backoff.
- **the delivery lane**, one thread: a poll that stored new items (their ``new`` alerts written
  in the poll's own transaction) asks it to deliver at once; every ~30 s it also plans the
  reminder and overdue alerts and delivers again, which retries failed deliveries. One thread,
  because two deliveries at once could both take the same outbox row and send it twice.
- **a connector's own thread**, for platforms that push instead of being polled (Discord's
  gateway, `connectors.discord_chat`): a connector that `Listens` is started with the daemon
  and buffers what it hears; when it has records waiting it calls `Daemon.wake`, and the main
  loop polls that source on its next turn (within a second) instead of waiting for ``every``.
  Its poll only drains the buffer. Alert channels with a connection of their own
  (`monitor.notify.LiveNotifier`, the owner's Discord bot) are opened at start too, so button
  presses are heard between alerts, and closed last when the daemon stops.
- **the report thread**, with `report.at` set: a daily job at that local time hands the day's
  report to it (`monitor.report_send.DailyReporter`: figures, chart, its own outbox), so a slow
  chart delays no poll and no alert. The report tells the main loop when to run next.

Stopping (`stop_event`, set by SIGTERM or SIGINT in the CLI): no new poll starts, the polls in
flight get until a deadline to finish their transaction, then the delivery lane finishes what it
is sending. Time comes from one injected clock; `Daemon.tick` runs one turn of the loop, so tests
drive it with a hand-moved clock and no signals.

**Several workers on one store** (PostgreSQL; DESIGN.md, "Scale"). Every daemon leases what it
works on from the store (`Store.claim`: ``SELECT … FOR UPDATE SKIP LOCKED`` with an expiry,
`storage.lease`): a source before each poll (``source:NAME``), the outbox before each delivery
round (``duty:delivery``), the daily report and the LLM drafts likewise. A due source whose lease
another worker holds is looked at again when that worker's lease ends or its next poll is due;
one that another worker has just polled waits for the time that worker wrote. Leases of polls
in flight are renewed; a stopping worker releases all of its own, and a killed one's expire, so
its sources move to the others within one lease period. Items are unique per source and alert
keys per (item, level, channel), so even a lease lost mid-poll stores and alerts nothing twice.
A SQLite store takes no leases: the file is locked for one daemon (`acquire_lock`), since SQLite
has a single writer anyway, and lease writes would only contend for its one lock.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import functools
import logging
import os
import queue
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

import schedule
from sqlalchemy.engine import make_url

from connectors.base import Connector
from monitor.config import Config, Source
from monitor.poll import (
    PollOutcome,
    build_connector,
    describe_error,
    poll_source,
    suggester_for,
    utc_now,
)
from monitor.refine import drafter_for, refine_drafts
from monitor.store import Channel, Store

if TYPE_CHECKING:
    from monitor.notify import Deliverer

log = logging.getLogger("sameday.daemon")

Clock = Callable[[], datetime]

# A parked job (its poll is in flight) sorts after every real one and never becomes due.
PARKED = datetime.max.replace(tzinfo=UTC)
DEFAULT_WORKERS = 16
PLAN_EVERY_S = 30.0
# The CLI's budget after a signal is 10 s: ≤1 s to notice it, 7 s for polls in flight and the
# delivery in progress, the rest for the process to exit.
SHUTDOWN_TIMEOUT_S = 7.0
LANE_GRACE_S = 0.5
MAX_SLEEP_S = 1.0  # also the longest a woken source (records waiting) waits for its poll
LISTENER_STOP_S = 2.0  # for each live connection to close at shutdown


LEASE_SLACK = timedelta(seconds=1)  # look again just after another worker's lease ends
REPORT_RETRY = timedelta(minutes=5)  # after the report pass itself failed (the store, a bug)


class DeliversAlerts(Protocol):
    """What the daemon needs of `monitor.notify.Deliverer`."""

    def deliver_due(self) -> Any: ...


@runtime_checkable
class Listens(Protocol):
    """A connector with a live connection of its own (a chat gateway) that buffers what it
    hears between polls; `fetch` then drains the buffer."""

    def listen(self, wake: Callable[[], None]) -> None:
        """Start hearing (never blocking); `wake` may be called from any thread whenever
        records are waiting."""
        ...

    def stop_listening(self, timeout: float) -> None: ...


class SendsReports(Protocol):
    """What the daemon needs of `monitor.report_send.DailyReporter`."""

    def first_run(self, now: datetime) -> datetime: ...

    def run(self) -> datetime: ...


def _live_notifier() -> type:
    """`monitor.notify.LiveNotifier`, imported late like the rest of `monitor.notify`."""
    from monitor.notify import LiveNotifier

    return LiveNotifier


# ---------------------------------------------------------------------------------------------
# When to poll next


@dataclass(frozen=True, slots=True)
class Backoff:
    """The next-poll rule: jittered interval, exponential backoff on failures, Retry-After.

    >>> rule = Backoff(jitter=0.0)
    >>> [rule.delay(60, failures) for failures in (0, 1, 2, 3)]
    [60.0, 120.0, 240.0, 480.0]
    >>> rule.delay(60, 1, retry_after=900)
    900.0
    >>> rule.delay(60, 20)  # capped at an hour
    3600.0
    """

    cap: float = 3600.0  # the longest backoff, in seconds (never shorter than the interval)
    # Up to this fraction earlier, so sources drift apart; never later, so a comment is alerted
    # within one interval of appearing.
    jitter: float = 0.1
    # A Retry-After longer than this is taken as a mistake: a typo must not silence a source.
    max_retry_after: float = 86_400.0

    def delay(
        self,
        every: float,
        failures: int,
        retry_after: float | None = None,
        rng: random.Random | None = None,
    ) -> float:
        """Seconds from the start of the last poll to the next one."""
        base = every
        if failures > 0:
            # min() on the exponent first: 2**1000 as a float would overflow.
            base = min(every * 2.0 ** min(failures, 64), max(self.cap, every))
        if self.jitter:
            base *= 1.0 - (rng or random).uniform(0.0, self.jitter)
        if failures > 0:
            base = max(base, every)  # backing off never polls a failing source more often
        if retry_after is not None and retry_after > base:
            base = min(retry_after, self.max_retry_after)
        return float(base)


# ---------------------------------------------------------------------------------------------
# The schedule library, on the daemon's clock


class ClockJob(schedule.Job):
    """A `schedule.Job` whose time comes from the daemon's clock and whose next run is set.

    `schedule` reads ``datetime.now()`` (naive local time) in `should_run` and computes the next
    run itself from a whole number of units; the daemon needs an injected, aware UTC clock and
    a next run that depends on how the poll went (jitter, backoff, Retry-After). So those two
    places are replaced and the rest (the job list, ordering, `run_pending`) is the library's.
    """

    def __init__(
        self,
        scheduler: ClockScheduler,
        func: Callable[[], None],
        *,
        tag: str,
        first_run: datetime,
    ) -> None:
        super().__init__(interval=1, scheduler=scheduler)
        self.unit = "seconds"  # for schedule's repr; the interval itself is unused
        self.job_func = functools.partial(func)
        functools.update_wrapper(self.job_func, func)
        self.tags = {tag}
        self.next_run = first_run
        self._clock = scheduler.clock
        scheduler.jobs.append(self)

    @property
    def should_run(self) -> bool:
        return self.next_run is not None and self._clock() >= self.next_run

    def run(self) -> Any:
        # Parked until the job itself (or the poll it starts) sets the next run.
        self.last_run = self._clock()
        self.next_run = PARKED
        assert self.job_func is not None  # set in __init__
        return self.job_func()

    def _schedule_next_run(self) -> None:
        pass  # the daemon sets next_run


class ClockScheduler(schedule.Scheduler):
    """A `schedule.Scheduler` whose idle time is measured on the daemon's clock."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock

    @property
    def idle_seconds(self) -> float | None:  # type: ignore[override]
        upcoming = self.get_next_run()
        if upcoming is None:
            return None
        return (upcoming - self.clock()).total_seconds()


# ---------------------------------------------------------------------------------------------
# The delivery lane


class DeliveryLane:
    """One thread that plans and delivers alerts when asked; requests made meanwhile coalesce."""

    def __init__(
        self,
        deliverer: DeliversAlerts,
        plan: Callable[[], int],
        may_deliver: Callable[[], bool] = lambda: True,
    ) -> None:
        self._deliverer = deliverer
        self._plan = plan
        # Whether this worker holds the delivery duty (several workers on one store): two
        # deliverers could both take the same outbox row and send it twice.
        self._may_deliver = may_deliver
        self._lock = threading.Lock()
        self._wanted = threading.Event()
        self._plan_wanted = False
        self._stopping = False
        self._busy = False
        self.rounds = 0  # deliveries done, for tests and the log
        self._thread = threading.Thread(target=self._loop, name="sameday-deliver", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def request(self, *, plan: bool = False) -> None:
        """Deliver soon (after planning reminders and overdue alerts, with `plan`)."""
        with self._lock:
            self._plan_wanted |= plan
        self._wanted.set()

    def idle(self) -> bool:
        """Nothing asked for and nothing in progress."""
        with self._lock:
            return not self._busy and not self._wanted.is_set()

    def stop(self, timeout: float) -> bool:
        """Finish the delivery in progress (up to `timeout` s); True if the lane stopped."""
        with self._lock:
            self._stopping = True
        self._wanted.set()
        if self._thread.is_alive():
            self._thread.join(max(timeout, 0.0))
        return not self._thread.is_alive()

    def _loop(self) -> None:
        while True:
            self._wanted.wait()
            with self._lock:
                if self._stopping:
                    return
                self._wanted.clear()
                plan, self._plan_wanted = self._plan_wanted, False
                self._busy = True
            try:
                self._round(plan)
            finally:
                with self._lock:
                    self._busy = False

    def _round(self, plan: bool) -> None:
        # Never let one bad round end the lane: the next request tries again.
        if not self._may_deliver():
            log.debug("another worker delivers the alerts")
            return
        if plan:
            try:
                written = self._plan()
                if written:
                    log.info("planned %d reminder or overdue alerts", written)
            except Exception:
                log.exception("planning reminders and overdue alerts failed; will try again")
        try:
            report = self._deliverer.deliver_due()
        except Exception:
            log.exception("delivering alerts failed; will try again")
            return
        self.rounds += 1
        log.debug("delivery round %d: %r", self.rounds, report)


# ---------------------------------------------------------------------------------------------
# The daemon


@dataclass(slots=True)
class SourceState:
    """What the daemon keeps per enabled source between polls."""

    source: Source
    connector: Connector
    every: float  # seconds
    failures: int = 0  # consecutive failed polls, as the sources row counts them
    job: ClockJob | None = field(default=None, repr=False)


class Daemon:
    """Polls the enabled sources of `config` into `store` and delivers their alerts.

    Drive it with `run` (until a stop event), or from a test with `start`, `tick` and
    `shutdown`; between ticks, polls run in the pool and deliveries in the lane.
    """

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        deliverer: DeliversAlerts,
        channels: Sequence[Channel],
        clock: Clock = utc_now,
        connectors: Mapping[str, Connector] | None = None,
        rng: random.Random | None = None,
        backoff: Backoff | None = None,
        workers: int | None = None,
        plan_every: float = PLAN_EVERY_S,
        reporter: SendsReports | None = None,
        worker: str | None = None,
        lease: timedelta | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        # Who this daemon is to the other workers on the store, and how long its claims last.
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.lease = lease or config.lease
        # Only PostgreSQL is shared by several workers; a SQLite file has one daemon (its
        # lock), and leasing there would only add writes that contend for its single lock.
        self.leasing = store.dialect == "postgresql"
        self._renewed_at: datetime | None = None
        self._woken: set[str] = set()  # woken sources: polled even if another worker just did
        self.channels = tuple(channels)
        self.backoff = backoff or Backoff()
        self.plan_every = plan_every
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()  # one sequence of draws, whichever thread draws
        self.rules = config.alert_rules
        self.suggester = suggester_for(config)  # shared by the pool: it keeps no state
        given = connectors or {}
        self.states: dict[str, SourceState] = {
            s.name: SourceState(
                source=s,
                connector=given.get(s.name) or build_connector(s, clock),
                every=s.every.as_timedelta().total_seconds(),
            )
            for s in config.sources
            if s.enabled
        }
        count = workers or min(DEFAULT_WORKERS, max(1, len(self.states)))
        self.workers = count
        self._pool = concurrent.futures.ThreadPoolExecutor(count, thread_name_prefix="sameday-poll")
        self._scheduler = ClockScheduler(clock)
        self._in_flight: dict[str, concurrent.futures.Future[None]] = {}
        self._done: queue.SimpleQueue[tuple[str, datetime]] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._planner: ClockJob | None = None
        self.lane = DeliveryLane(deliverer, self._plan_alerts, lambda: self._duty("delivery"))
        # Drafts refined by an LLM, when configured: one thread of their own, so a slow model
        # delays neither polls nor alerts.
        self.drafter = drafter_for(config)
        self._refiner = (
            concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="sameday-refine")
            if self.drafter
            else None
        )
        self._refining: concurrent.futures.Future[None] | None = None
        # The daily report: a job on the schedule, sent from a thread of its own.
        self.reporter = reporter
        self._report_job: ClockJob | None = None
        self._reports = (
            concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="sameday-report")
            if reporter
            else None
        )
        self._reporting: concurrent.futures.Future[None] | None = None
        self._report_next: queue.SimpleQueue[datetime] = queue.SimpleQueue()
        # Sources whose connector has records waiting (`wake`, any thread), and those woken
        # while their poll was in flight: polled again as soon as it comes back.
        self._wakes: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._rewake: set[str] = set()
        self._live: list[Any] = [  # alert channels with a connection of their own
            n for n in getattr(deliverer, "notifiers", ()) if isinstance(n, _live_notifier())
        ]
        self._listening: list[str] = []

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Schedule every enabled source (due now, unless it is backing off) and start the lane."""
        now = self.clock()
        self.store.ensure_sources((s.name, s.type) for s in self.config.sources)
        rows = {h.row.name: h.row for h in self.store.health(now)}
        for source in self.config.sources:
            if not source.enabled:
                self.store.set_next_poll(source.name, None)
                # The report must not count a switched-off source's silence as a blind spot.
                self.store.note_disabled(source.name, now)
        for name, state in self.states.items():
            row = rows.get(name)
            first = now
            if row is not None and row.consecutive_failures:
                # A restart keeps backing off (and keeps a Retry-After) instead of hammering a
                # failing platform at every start; but never waits longer than the cap.
                state.failures = row.consecutive_failures
                if row.next_poll_at is not None and row.next_poll_at > now:
                    first = min(row.next_poll_at, now + timedelta(seconds=self.backoff.cap))
            state.job = ClockJob(
                self._scheduler, functools.partial(self._submit, state), tag=name, first_run=first
            )
            self.store.set_next_poll(name, first)
        self._planner = ClockJob(self._scheduler, self._plan_job, tag="plan-alerts", first_run=now)
        if self.reporter is not None:
            # Today's report time even when it has passed: the job then sends what is owed.
            self._report_job = ClockJob(
                self._scheduler,
                self._report_due,
                tag="daily-report",
                first_run=self.reporter.first_run(now),
            )
        self.lane.start()
        self._start_live()
        if not self.states:
            log.warning("no enabled sources: only reminders and retries will be delivered")
        log.info(
            "started: %d sources, %d alert channels (%s), %d poll threads",
            len(self.states),
            len(self.channels),
            ", ".join(c.name for c in self.channels) or "none",
            self.workers,
        )

    def wake(self, name: str) -> None:
        """Poll source `name` as soon as possible: its connector has records waiting.

        Thread-safe and never blocking (a connector's own thread calls it); the main loop
        takes it in on its next turn.
        """
        self._wakes.put(name)

    def _start_live(self) -> None:
        """Start the connectors that listen, then the alert channels that hear the owner.

        Sources first: they decide what the shared connection asks for (Discord's Message
        Content intent). A failure here is logged and the rest goes on; a listening source
        that cannot connect reports why at its polls.
        """
        for name, state in self.states.items():
            if isinstance(state.connector, Listens):
                try:
                    state.connector.listen(functools.partial(self.wake, name))
                except Exception:
                    log.exception("[%s] could not start listening", name)
                    continue
                self._listening.append(name)
        for notifier in self._live:
            try:
                notifier.open()
            except Exception:  # its deliveries fail and retry like any channel's
                log.exception("channel %s could not connect", notifier.describe())

    def _stop_listening(self) -> None:
        for name in self._listening:
            connector = self.states[name].connector
            assert isinstance(connector, Listens)
            try:
                connector.stop_listening(LISTENER_STOP_S)
            except Exception:
                log.exception("[%s] could not stop listening", name)
        self._listening.clear()

    def _close_live(self) -> None:
        for notifier in self._live:
            try:
                notifier.close(LISTENER_STOP_S)
            except Exception:
                log.exception("channel %s could not disconnect", notifier.describe())

    def tick(self) -> float | None:
        """One turn of the loop: take in finished polls, start the due ones.

        Returns the seconds until the next job is due (None when nothing is scheduled).
        """
        self._collect()
        if not self._stopping.is_set():
            self._renew_leases()
            self._scheduler.run_pending()
        return self._scheduler.idle_seconds

    def run(self, stop_event: threading.Event, *, max_sleep: float = MAX_SLEEP_S) -> None:
        """Tick until `stop_event` is set, sleeping at most `max_sleep` real seconds at a time."""
        while not stop_event.is_set():
            idle = self.tick()
            pause = max_sleep if idle is None else min(max(idle, 0.0), max_sleep)
            if pause > 0:
                stop_event.wait(pause)

    def shutdown(self, timeout: float = SHUTDOWN_TIMEOUT_S) -> bool:
        """Start no new poll, let the polls in flight and the delivery in progress finish.

        Returns True when all of them finished within `timeout` seconds. Polls still running
        after that are abandoned: each writes in one transaction, so exiting loses nothing
        that was stored, and the next start fetches again from the saved cursor.
        """
        deadline = time.monotonic() + timeout
        self._stopping.set()
        self._scheduler.clear()
        # Listening stops first: a poll in flight still drains what was heard, and one waiting
        # for a connection gives up at once; what no poll took is re-read from its cursor.
        self._stop_listening()
        running = {name: f for name, f in self._in_flight.items() if not f.done()}
        if running:
            log.info(
                "stopping: waiting for %d polls in flight (%s)", len(running), ", ".join(running)
            )
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._refiner is not None:  # a draft is only a draft: nothing to finish
            self._refiner.shutdown(wait=False, cancel_futures=True)
        if self._reports is not None:  # a report being sent may finish, within the deadline
            self._reports.shutdown(wait=False, cancel_futures=True)
            if self._reporting is not None:
                running["the daily report"] = self._reporting
        _, unfinished = concurrent.futures.wait(
            running.values(), timeout=max(deadline - time.monotonic(), 0.0)
        )
        self._collect()
        # Even with the deadline spent on polls, an idle lane needs a moment to notice.
        lane_stopped = self.lane.stop(max(deadline - time.monotonic(), LANE_GRACE_S))
        self._close_live()  # after the lane: a delivery in progress may still need it
        if self.leasing:
            try:  # the other workers take over at once instead of after the lease
                self.store.release_all(self.worker)
            except Exception:
                log.exception("could not release this worker's leases; they expire anyway")
        if unfinished:
            stuck = sorted(name for name, f in running.items() if f in unfinished)
            log.warning(
                "stopping: %d polls still running after %.0f s, abandoned (%s)",
                len(stuck),
                timeout,
                ", ".join(stuck),
            )
        if not lane_stopped:
            log.warning("stopping: a delivery was still in progress after %.0f s", timeout)
        log.info("stopped")
        return not unfinished and lane_stopped

    # -- introspection for tests and the bench ----------------------------------------------

    def in_flight(self) -> set[str]:
        """Names of the sources whose poll has started and not yet been taken in."""
        return set(self._in_flight)

    def next_run(self, name: str) -> datetime | None:
        job = self.states[name].job
        return None if job is None or job.next_run == PARKED else job.next_run

    def next_report(self) -> datetime | None:
        """When the daily report job runs next; None without one, or while it is running."""
        job = self._report_job
        return None if job is None or job.next_run == PARKED else job.next_run

    # -- the jobs -----------------------------------------------------------------------------

    def _plan_job(self) -> None:
        self.lane.request(plan=True)
        if self._planner is not None:
            self._planner.next_run = self.clock() + timedelta(seconds=self.plan_every)
        if self._refiner is not None and (self._refining is None or self._refining.done()):
            self._refining = self._refiner.submit(self._refine)

    def _refine(self) -> None:
        assert self.drafter is not None
        try:
            if not self._duty("refine"):
                return  # another worker asks the model
            try:
                refine_drafts(self.store, self.drafter, self.config, self.clock())
            finally:
                self._release("duty:refine")
        except Exception:  # the store failing: try again at the next planning round
            log.exception("refining drafts failed")

    def _plan_alerts(self) -> int:
        return self.store.plan_alerts(self.clock(), self.rules, self.channels)

    def _report_due(self) -> None:
        """The report job (main thread): hand the pass to the report thread; the job stays
        parked until the pass says when to run next."""
        assert self._reports is not None
        with contextlib.suppress(RuntimeError):  # the pool is shut down: the daemon is stopping
            self._reporting = self._reports.submit(self._send_report)

    def _send_report(self) -> None:
        assert self.reporter is not None
        next_at = self.clock() + REPORT_RETRY
        try:
            if self._duty("report"):  # else another worker sends it; look again later
                try:
                    next_at = self.reporter.run()
                finally:
                    self._release("duty:report")
        except Exception:  # the store failing, or a bug: the job must come back regardless
            log.exception("the daily report failed; trying again in %s", REPORT_RETRY)
        finally:
            self._report_next.put(next_at)

    def _duty(self, name: str) -> bool:
        """Claim (or renew) a duty only one worker may do at a time; whether this one has it."""
        if not self.leasing:
            return True
        try:
            return bool(self.store.claim([f"duty:{name}"], self.worker, self.clock(), self.lease))
        except Exception:
            log.exception("could not claim duty:%s; skipping it this round", name)
            return False

    def _renew_leases(self) -> None:
        """Extend the leases of the polls in flight, every third of a lease (main thread)."""
        now = self.clock()
        if not self.leasing:
            return
        if self._renewed_at is not None and now - self._renewed_at < self.lease / 3:
            return
        self._renewed_at = now
        names = [f"source:{name}" for name in self._in_flight]
        if not names:
            return
        try:
            kept = set(self.store.claim(names, self.worker, now, self.lease))
        except Exception:
            log.exception("could not renew the leases of the polls in flight")
            return
        for lost in sorted(set(names) - kept):
            # Stores nothing twice (items and alert keys are unique), but it should not happen.
            log.warning("[%s] lease lost during its poll: another worker may poll it", lost[7:])

    def _submit(self, state: SourceState) -> None:
        name = state.source.name
        now = self.clock()
        woken = name in self._woken
        self._woken.discard(name)
        if not self.leasing:
            self._start_poll(state)
            return
        try:
            claimed = self.store.claim([f"source:{name}"], self.worker, now, self.lease)
            row = self.store.source(name) if claimed else None
        except Exception:  # the store unreachable: the source's turn comes again
            log.exception("[%s] could not claim the source; trying again later", name)
            self._later(state, now + timedelta(seconds=min(state.every, 60.0)))
            return
        if not claimed:
            self._later(state, self._when_free(name, state, now))
            return
        if not woken and row is not None and row.next_poll_at and row.next_poll_at > now:
            # Another worker polled it since this one planned: its plan stands.
            self._release(f"source:{name}")
            self._later(state, row.next_poll_at)
            return
        if row is not None:
            state.failures = row.consecutive_failures  # shared: any worker's failures count
        self._start_poll(state)

    def _start_poll(self, state: SourceState) -> None:
        name = state.source.name
        try:
            self._in_flight[name] = self._pool.submit(self._poll, state)
        except RuntimeError:  # the pool is shutting down: the daemon is stopping
            self._in_flight.pop(name, None)
            self._release(f"source:{name}")

    def _release(self, lease: str) -> None:
        if self.leasing:
            self.store.release([lease], self.worker)

    def _when_free(self, name: str, state: SourceState, now: datetime) -> datetime:
        """When to look again at a source another worker holds: its next poll if that worker
        already planned one, else when the lease runs out (the holder may have died)."""
        row = self.store.source(name)
        if row is not None and row.next_poll_at is not None and row.next_poll_at > now:
            return row.next_poll_at
        _, until = self.store.lease(f"source:{name}")  # one row, not the whole table
        if until is not None and until > now:
            return until + LEASE_SLACK
        return now + timedelta(seconds=min(state.every, self.lease.total_seconds()))

    def _later(self, state: SourceState, at: datetime) -> None:
        if state.job is not None and not self._stopping.is_set():
            state.job.next_run = at

    def _collect(self) -> None:
        """Take in finished polls, report passes and wakes: set their next run (main thread)."""
        while not self._report_next.empty():
            next_report = self._report_next.get_nowait()
            if self._report_job is not None and not self._stopping.is_set():
                self._report_job.next_run = next_report
        while True:
            try:
                name, next_at = self._done.get_nowait()
            except queue.Empty:
                break
            self._in_flight.pop(name, None)
            job = self.states[name].job
            if name in self._rewake:  # records came in while it was polling
                self._rewake.discard(name)
                next_at = min(next_at, self.clock())
                self._woken.add(name)
            if job is not None and not self._stopping.is_set():
                job.next_run = next_at
        while True:
            try:
                name = self._wakes.get_nowait()
            except queue.Empty:
                return
            state = self.states.get(name)
            if state is None or state.job is None or self._stopping.is_set():
                continue
            if name in self._in_flight:
                self._rewake.add(name)  # its job is parked until the poll comes back
            else:
                now = self.clock()
                planned = state.job.next_run
                state.job.next_run = now if planned is None else min(planned, now)
                self._woken.add(name)

    def _poll(self, state: SourceState) -> None:
        """One poll of one source, in a pool thread; always reports back to the main loop."""
        source = state.source
        name = source.name
        started = self.clock()
        next_at = started + timedelta(seconds=state.every)
        try:
            try:
                outcome = poll_source(
                    source,
                    state.connector,
                    self.store,
                    clock=self.clock,
                    redact=self.config.redact,
                    channels=self.channels,
                    suggester=self.suggester,
                )
            except Exception as exc:
                # poll_source turns the connector's failures into values; this is the store
                # failing (disk full, locked too long): the source's problem for this poll.
                message = self.config.redact(describe_error(exc))
                log.exception("[%s] poll could not be stored: %s", name, message)
                outcome = PollOutcome(name, error=message)
                with contextlib.suppress(Exception):
                    self.store.record_failure(
                        name, message, self.clock(), every=source.every.as_timedelta()
                    )
            state.failures = 0 if outcome.ok else state.failures + 1
            with self._rng_lock:
                delay = self.backoff.delay(
                    state.every, state.failures, outcome.retry_after, self._rng
                )
            if outcome.ok and outcome.wait_at_least and outcome.wait_at_least > delay:
                delay = outcome.wait_at_least  # the platform's rate budget: status says so
            ended = self.clock()
            # A success keeps the cadence, counted from the poll's start (never before its end:
            # a poll slower than its interval runs back to back). A failure waits from its end:
            # a source that hangs until its timeout must not be retried the moment it gives up.
            start = ended if state.failures else started
            next_at = max(start + timedelta(seconds=delay), ended)
            if state.failures:
                log.info(
                    "[%s] %d failed polls in a row; next poll in %.0f s%s",
                    name,
                    state.failures,
                    (next_at - ended).total_seconds(),
                    " (as the platform asked)"
                    if outcome.retry_after and outcome.retry_after >= delay
                    else "",
                )
            log.debug(
                "[%s] polled in %.2f s; next poll at %s",
                name,
                (ended - started).total_seconds(),
                next_at.isoformat(timespec="seconds"),
            )
            if outcome.ok and outcome.new_items:
                # Only new items make alerts due right away; answers cancel theirs at delivery.
                self.lane.request()
            try:
                if self.leasing:
                    self.store.finish_poll(name, self.worker, next_at)
                else:
                    self.store.set_next_poll(name, next_at)
            except Exception:
                log.exception("[%s] could not record the next poll time", name)
        except Exception:  # a bug here must not leave the source parked forever
            log.exception("[%s] poll crashed", name)
        finally:
            self._done.put((name, next_at))


# ---------------------------------------------------------------------------------------------
# Entry point for the CLI and tests


class Delivery(NamedTuple):
    deliverer: Deliverer
    channels: list[Channel]
    reporter: SendsReports | None  # None without `report.at`


def default_delivery(config: Config, store: Store, clock: Clock) -> Delivery:
    """The configured notifiers (the console when none is): their alert deliverer and
    channels, and the daily report's sender when `report.at` is set.

    Raises ValueError for channels that cannot work together (two with one name).
    """
    from monitor import notify  # imported here: Apprise loads its plugins on import
    from monitor.report_send import DailyReporter

    notifiers = notify.build_notifiers(config, store=store, clock=clock)
    deliverer = notify.deliverer_for(config, store, notifiers, clock=clock)
    reporter = (
        DailyReporter(config, store, notifiers, clock=clock, redact=config.redact)
        if config.report_time is not None
        else None
    )
    return Delivery(deliverer, notify.channels(notifiers), reporter)


def run_daemon(
    config: Config,
    store: Store,
    *,
    stop_event: threading.Event,
    clock: Clock = utc_now,
    deliverer: DeliversAlerts | None = None,
    channels: Sequence[Channel] | None = None,
    connectors: Mapping[str, Connector] | None = None,
    rng: random.Random | None = None,
    backoff: Backoff | None = None,
    workers: int | None = None,
    plan_every: float = PLAN_EVERY_S,
    max_sleep: float = MAX_SLEEP_S,
    shutdown_timeout: float = SHUTDOWN_TIMEOUT_S,
    reporter: SendsReports | None = None,
) -> bool:
    """Run the daemon until `stop_event` is set; True if it stopped with nothing left running.

    `deliverer`, `channels` and `reporter` default to the config's notifiers
    (`monitor.notify`) and `report.at`.
    """
    if deliverer is None or channels is None:
        deliverer, channels, default_reporter = default_delivery(config, store, clock)
        reporter = reporter or default_reporter
    daemon = Daemon(
        config,
        store,
        deliverer=deliverer,
        channels=channels,
        clock=clock,
        connectors=connectors,
        rng=rng,
        backoff=backoff,
        workers=workers,
        plan_every=plan_every,
        reporter=reporter,
    )
    daemon.start()
    try:
        daemon.run(stop_event, max_sleep=max_sleep)
    finally:
        clean = daemon.shutdown(shutdown_timeout)
    return clean


# ---------------------------------------------------------------------------------------------
# One daemon per SQLite store


class AlreadyRunning(Exception):
    """Another `sameday run` holds the store's lock."""

    def __init__(self, database: Path, pid: int | None) -> None:
        self.database = database
        self.pid = pid
        who = f"pid {pid}" if pid else "pid unknown"
        super().__init__(
            f"another sameday run is already using {database}, {who}; stop it first "
            "(two daemons on one store would send every alert twice)"
        )


class InstanceLock:
    """An exclusive `flock` on ``<database>.lock``, released when the process ends."""

    def __init__(self, path: Path, handle: Any) -> None:
        self.path = path
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def sqlite_path(store: Store) -> Path | None:
    """The database file of a SQLite store; None for PostgreSQL or an in-memory database."""
    if store.dialect != "sqlite":
        return None
    database = make_url(store.url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).resolve()


def acquire_lock(store: Store) -> InstanceLock | None:
    """Lock a SQLite store for this process; raise `AlreadyRunning` if another holds it.

    None for stores that need no lock (PostgreSQL, in-memory SQLite). The lock file holds the
    holder's pid, for the message the next one prints; the kernel drops the lock when the
    holder dies, even by SIGKILL, so a stale file never blocks a restart.
    """
    database = sqlite_path(store)
    if database is None:
        return None
    path = database.with_name(database.name + ".lock")
    # "a+": opening must not erase the holder's pid before we know we are the holder.
    handle = open(path, "a+", encoding="ascii")  # noqa: SIM115 - kept open while locked
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        text = handle.read().strip()
        handle.close()
        raise AlreadyRunning(database, int(text) if text.isdigit() else None) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return InstanceLock(path, handle)
