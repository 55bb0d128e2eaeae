"""The client-side pacer, driven by a fake time source (our own code, exercised for real)."""

from __future__ import annotations

import threading

import pytest

from integrations.hubspot.limiter import RequestPacer, SlidingWindow
from integrations.hubspot.retry import RetryPolicy


def _send(pacer: RequestPacer, *, search: bool = False) -> float:
    """One request that is answered at once; returns how long it waited to go out."""
    slot = pacer.acquire(search=search)
    pacer.release(slot)
    return slot.waited


class FakeTime:
    """Time moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += max(seconds, 0.0)


def _most_in_any_window(times: list[float], seconds: float) -> int:
    times = sorted(times)
    most, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= seconds:
            start += 1
        most = max(most, end - start + 1)
    return most


def test_the_191st_request_waits_for_the_window_to_roll() -> None:
    fake = FakeTime()
    pacer = RequestPacer(190, 5, time_source=fake)
    for _ in range(190):
        assert _send(pacer) == 0
    started = fake.now
    waited = _send(pacer)
    assert waited == pytest.approx(10.05)
    assert fake.now - started == pytest.approx(10.05)


def test_searches_are_held_to_five_a_second_without_slowing_other_calls() -> None:
    fake = FakeTime()
    pacer = RequestPacer(190, 5, time_source=fake)
    search_times = []
    for _ in range(20):
        _send(pacer, search=True)
        search_times.append(fake.now)
    assert _most_in_any_window(search_times, 1.0) <= 5
    before = fake.now
    _send(pacer)  # a list call right after: no wait
    assert fake.now == before


def test_no_ten_second_interval_ever_holds_more_than_the_limit() -> None:
    fake = FakeTime()
    pacer = RequestPacer(100, 5, time_source=fake)
    times = []
    for n in range(1000):
        _send(pacer, search=n % 7 == 0)
        times.append(fake.now)
        fake.sleep(0.013 * (n % 5))  # uneven work between requests
    assert _most_in_any_window(times, 10.0) <= 100


def test_threads_sharing_a_pacer_stay_under_the_limit_together() -> None:
    fake = FakeTime()
    pacer = RequestPacer(20, 5, time_source=fake)
    times: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(30):
            _send(pacer)
            with lock:
                times.append(fake.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(times) == 120
    assert _most_in_any_window(times, 10.0) <= 20


def test_retry_after_holds_every_caller() -> None:
    fake = FakeTime()
    pacer = RequestPacer(190, 5, time_source=fake)
    pacer.hold(7.5)
    assert _send(pacer) == pytest.approx(7.5)


def test_a_slow_answer_keeps_its_slot_until_it_arrives() -> None:
    # HubSpot may see a request any time until its answer comes back: the window counts
    # it until then, so a late arrival can never crowd HubSpot's own window.
    fake = FakeTime()
    pacer = RequestPacer(2, 5, time_source=fake)
    slow = pacer.acquire()
    _send(pacer)
    fake.sleep(30.0)  # the first answer takes 30 s
    pacer.release(slow)
    started = fake.now
    assert _send(pacer) == 0  # one slot free: the fast request's window has passed
    _send(pacer)  # the slow one still counts: wait until 10.05 s after its answer
    assert fake.now - started == pytest.approx(10.05)


def test_a_window_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        SlidingWindow(0, 10)


def test_backoff_grows_is_capped_and_never_undercuts_retry_after() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=8.0)
    delays = [policy.delay(attempt) for attempt in range(10)]
    for attempt, delay in enumerate(delays):
        step = min(8.0, 0.5 * 2**attempt)
        assert step / 2 <= delay <= step
    assert max(delays) <= 8.0
    assert policy.delay(0, retry_after=3.0) >= 3.0
