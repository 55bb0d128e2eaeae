"""The Slack pacer on a hand-moved clock: when each call may go, per channel, workspace, method."""

from __future__ import annotations

import pytest

from integrations.slack.pacing import PacingLimits, SlackPacer


class HandClock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def pacer(clock: HandClock, **limits: object) -> SlackPacer:
    return SlackPacer(PacingLimits(**limits), clock=clock)  # type: ignore[arg-type]


def test_a_short_burst_goes_at_once_then_one_post_a_second() -> None:
    clock = HandClock()
    paced = pacer(clock, channel_per_second=1.0, channel_burst=3)

    delays = [paced.post_delay("C1") for _ in range(6)]

    assert delays == pytest.approx([0, 0, 0, 1, 2, 3])


def test_channels_are_paced_apart() -> None:
    clock = HandClock()
    paced = pacer(clock, channel_per_second=1.0, channel_burst=1)

    assert [paced.post_delay("C1"), paced.post_delay("C2"), paced.post_delay("C1")] == (
        pytest.approx([0, 0, 1])
    )


def test_time_that_passed_gives_the_burst_back() -> None:
    clock = HandClock()
    paced = pacer(clock, channel_per_second=1.0, channel_burst=2)
    for _ in range(4):
        paced.post_delay("C1")

    clock.now += 10

    assert [paced.post_delay("C1"), paced.post_delay("C1"), paced.post_delay("C1")] == (
        pytest.approx([0, 0, 1])
    )


def test_the_workspace_limit_holds_across_channels() -> None:
    clock = HandClock()
    paced = pacer(clock, workspace_per_minute=60, workspace_burst=2, channel_burst=5)

    delays = [paced.post_delay(f"C{n}") for n in range(4)]

    assert delays == pytest.approx([0, 0, 1, 2])


def test_a_post_held_back_by_the_workspace_uses_its_channel_slot_when_it_goes() -> None:
    # The channel's slot is taken at the moment the post will really go, so posts held back by
    # the workspace do not bunch up on one channel when they are released.
    clock = HandClock()
    paced = pacer(
        clock, channel_per_second=1.0, channel_burst=1, workspace_per_minute=6, workspace_burst=1
    )

    assert [paced.post_delay("C1"), paced.post_delay("C2"), paced.post_delay("C1")] == (
        pytest.approx([0, 10, 20])
    )


def test_methods_are_paced_by_their_tier_and_unlisted_ones_are_free() -> None:
    clock = HandClock()
    paced = pacer(clock, method_per_minute={"chat.update": 30}, method_burst=1)

    updates = [paced.call_delay("chat.update") for _ in range(3)]
    others = [paced.call_delay("auth.test") for _ in range(3)]

    assert updates == pytest.approx([0, 2, 4])
    assert others == [0, 0, 0]


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="channel_per_second"):
        PacingLimits(channel_per_second=0)
