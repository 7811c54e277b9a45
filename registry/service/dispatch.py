"""The dispatcher: delivers the outbox to the subscribers' callbacks, in each
`registry serve` worker, on a thread of its own (never on the event loop).

It leases subscriptions through the database (`Outbox.claim`) and sends each one's
pending deliveries one at a time, oldest first, so a subscription receives its
events in order. Each delivery is a Standard Webhooks POST (`standardwebhooks`
signs it: headers webhook-id, webhook-timestamp, webhook-signature) to an address
its host resolves to now and that the rules allow, connected to directly, so a name
that resolves elsewhere between the check and the call (DNS rebinding) cannot
redirect it; redirects are not followed; short timeouts. A 2xx answer is delivered;
anything else is retried after REGISTRY_WEBHOOK_RETRY_BASE seconds, doubled each
time up to REGISTRY_WEBHOOK_RETRY_MAX, with jitter, for as long as
REGISTRY_WEBHOOK_RETRY_WINDOW from the event; then the delivery has failed and the
subscription is failing (no more deliveries until one is redelivered).

The same thread runs the calendar when it holds the `calendar` lease. `stop()`
ends it between two deliveries; litestar's on_shutdown calls it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import random
import socket
import threading
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import httpx
from standardwebhooks import Webhook

from registry import __version__
from registry.events import Allow, CallbackRefused, address_problem, callback_host
from registry.service.events import Calendar, resolve
from registry.settings import Settings
from registry.store import Store
from registry.store.outbox import Attempt, Claimed, Pending, now_text

log = logging.getLogger("registry.events")

POLL_SECONDS = 0.25  # how often a worker looks for due deliveries others wrote
BATCH = 100  # deliveries read at once for one subscription
MARK_EVERY = 20  # deliveries recorded in one transaction, at most
MARK_SECONDS = 0.1  # and at the latest this long after the first of them
CALENDAR_LEASE = "calendar"


def holder_name() -> str:
    """Who holds a lease: the host and process, and a random part for this start."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Dispatcher:
    def __init__(self, store: Store, settings: Settings, calendar: Calendar | None) -> None:
        self.store = store
        self.settings = settings
        self.allow = Allow.parse(settings.webhook_allow)
        self.calendar = calendar
        self.holder = holder_name()
        self.delivered = 0  # counted for the metrics
        self.failures = 0
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_sweep = 0.0
        timeout = settings.webhook_timeout
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: the address checked is the one called
            headers={"user-agent": f"alliance-registry/{__version__}"},
        )

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="registry-dispatch", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look for deliveries now (this process just wrote some)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the delivery in flight; its lease is released so another process
        takes over at once."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._client.close()

    # -- the loop ------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            busy = False
            try:
                busy = self._round()
            except Exception:  # the database is down, say: log, wait, try again
                log.exception("event dispatch failed; retrying")
                self._stopping.wait(1.0)
            if not busy:
                self._wake.wait(POLL_SECONDS)
                self._wake.clear()

    def _round(self) -> bool:
        if self.calendar is not None and time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + self.settings.calendar_interval
            self._sweep()
        claimed = self.store.outbox.claim(self.holder, self.settings.webhook_lease)
        for subscription in claimed:
            if self._stopping.is_set():
                self.store.outbox.release(subscription.id, self.holder)
                continue
            self._deliver(subscription)
        return bool(claimed)

    def _sweep(self) -> None:
        assert self.calendar is not None
        lease = max(3 * self.settings.calendar_interval, 1.0)
        if not self.store.outbox.lease(CALENDAR_LEASE, self.holder, lease):
            return
        today = self.settings.calendar_today or dt.datetime.now(dt.UTC).date()
        written = self.calendar.sweep(today)
        if written:
            log.info("calendar of %s: %d events", today, written)

    def _deliver(self, subscription: Claimed) -> None:
        """Send the subscription's pending deliveries in order while the lease holds.
        Deliveries made are recorded MARK_EVERY at a time (or after MARK_SECONDS), in
        one transaction that renews the lease, so one killed mid-way sends those again."""
        outbox = self.store.outbox
        done: list[tuple[Pending, Attempt]] = []
        marked = time.monotonic()

        def mark() -> bool:
            nonlocal done, marked
            held = outbox.delivered(subscription.id, done, self.holder, self.settings.webhook_lease)
            done, marked = [], time.monotonic()
            if not held:
                log.warning("lost the lease of %s; another process delivers", subscription.id)
            return held

        while not self._stopping.is_set():
            pending = outbox.pending(subscription.id, BATCH, after=done[-1][0].seq if done else 0)
            if not pending:
                break
            for delivery in pending:
                if self._stopping.is_set():
                    break
                attempt = self._send(subscription, delivery)
                if attempt.status is not None and 200 <= attempt.status < 300:
                    self.delivered += 1
                    done.append((delivery, attempt))
                    due = len(done) >= MARK_EVERY or time.monotonic() - marked > MARK_SECONDS
                    if due and not mark():
                        return
                    continue
                self.failures += 1
                if not mark():
                    return
                retry_at = self._retry_at(delivery)
                outbox.failed(subscription.id, delivery, attempt, self.holder, retry_at)
                return  # the next attempt is the same delivery, later: order is kept
        if mark():
            outbox.release(subscription.id, self.holder)

    def _retry_at(self, delivery: Pending) -> float | None:
        """When to try again: base * 2^(attempts), at most the longest wait, with
        "equal jitter" (half fixed, half random); None once past the retry window."""
        s = self.settings
        wait = min(s.webhook_retry_base * 2 ** min(delivery.attempts, 30), s.webhook_retry_max)
        wait = wait / 2 + random.uniform(0, wait / 2)
        at = time.time() + wait
        return None if at - delivery.created > s.webhook_retry_window else at

    # -- one POST --------------------------------------------------------------------

    def _send(self, subscription: Claimed, delivery: Pending) -> Attempt:
        started = time.monotonic()
        at = now_text()

        def attempt(status: int | None, error: str | None) -> Attempt:
            return Attempt(at, status, error, int((time.monotonic() - started) * 1000))

        try:
            url, host_header, host = self._target(subscription.callback)
        except CallbackRefused as exc:
            return attempt(None, str(exc))
        timestamp = dt.datetime.now(dt.UTC)
        signature = Webhook(subscription.secret).sign(delivery.id, timestamp, delivery.body)
        headers = {
            "content-type": "application/json",
            "host": host_header,
            "webhook-id": delivery.id,
            "webhook-timestamp": str(int(timestamp.timestamp())),
            "webhook-signature": signature,
        }
        extensions = {"sni_hostname": host} if url.startswith("https:") else {}
        try:
            answer = self._client.post(
                url, content=delivery.body.encode(), headers=headers, extensions=extensions
            )
        except httpx.TimeoutException:
            return attempt(None, f"no answer within {self.settings.webhook_timeout:g} s")
        except httpx.HTTPError as exc:
            return attempt(None, f"could not deliver: {exc or type(exc).__name__}")
        if answer.is_redirect:
            where = answer.headers.get("location", "")
            return attempt(
                answer.status_code,
                f"the callback answered {answer.status_code} (to {where}); "
                "redirects are not followed",
            )
        if not answer.is_success:
            return attempt(answer.status_code, f"the callback answered {answer.status_code}")
        return attempt(answer.status_code, None)

    def _target(self, callback: str) -> tuple[str, str, str]:
        """The URL to call (the host replaced by an address it resolves to now, checked),
        the Host header, and the host name (for TLS)."""
        host, port = callback_host(callback, self.allow)
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError, ValueError):
            raise CallbackRefused(f"'{host}' does not resolve to an address") from None
        for address in addresses:
            problem = address_problem(host, address, self.allow)
            if problem is not None:
                raise CallbackRefused(problem)
        ip = ipaddress.ip_address(addresses[0].split("%")[0])
        literal = f"[{ip}]" if ip.version == 6 else str(ip)
        parts = urlsplit(callback)
        netloc = f"{literal}:{port}"
        host_header = parts.netloc.rpartition("@")[2]
        return (
            urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")),
            host_header,
            host,
        )
