"""Who hears about an SLA event: matching, receivers, fallbacks, silences, quiet hours."""

from __future__ import annotations

from datetime import timedelta

from alerts.model import (
    EscalationStep,
    EventType,
    IntentStatus,
    Matcher,
    ReceiverKind,
    Silence,
    TargetKind,
    Unresolved,
)
from alerts.routing import route_event
from app.sla.durations import parse_goal
from tests.alerts.factories import (
    MANAGER,
    OWNER,
    channel,
    directory,
    event,
    ny,
    route,
    webhook,
)

WEDNESDAY_10 = ny(2026, 12, 2, 10)


def targets(result: object) -> list[tuple[str, str]]:
    return [(i.target_kind.value, i.target) for i in result.intents]  # type: ignore[attr-defined]


def test_a_breach_goes_to_the_owner_as_a_dm_at_once_in_working_hours() -> None:
    result = route_event(event(), [route()], directory(), now=WEDNESDAY_10)

    (intent,) = result.intents
    assert (intent.target_kind, intent.target) == (TargetKind.SLACK_USER, "U011")
    assert intent.not_before == WEDNESDAY_10
    assert intent.status is IntentStatus.PENDING
    assert intent.dedupe_key == "1/slack_user:U011"


def test_the_first_matching_route_wins() -> None:
    routes = [
        route("deals", match=Matcher(object_types=frozenset({"deal"})), receivers=(MANAGER,)),
        route("contacts", match=Matcher(object_types=frozenset({"contact"}))),
        route("everything", receivers=(channel("sales"),)),
    ]
    result = route_event(event(), routes, directory(), now=WEDNESDAY_10)

    assert result.matched_routes == ("contacts",)
    assert targets(result) == [("slack_user", "U011")]


def test_a_route_with_continue_lets_later_routes_match_too() -> None:
    routes = [
        route("reps", continue_matching=True),
        route("managers", receivers=(MANAGER, channel("#sales"))),
        route("never", receivers=(channel("marketing"),)),
    ]
    result = route_event(event(), routes, directory(), now=WEDNESDAY_10)

    assert result.matched_routes == ("reps", "managers")
    assert targets(result) == [
        ("slack_user", "U011"),
        ("slack_user", "U900"),
        ("slack_channel", "C100"),
    ]


def test_matchers_select_by_rule_kind_event_type_and_owner_team() -> None:
    west_quota = Matcher(
        rule_kinds=frozenset({"quota"}),
        event_types=frozenset({EventType.AT_RISK, EventType.MISSED}),
    )
    east_breaches = Matcher(
        owner_teams=frozenset({"team-east"}), event_types=frozenset({EventType.BREACHED})
    )
    routes = [
        route("marketing", match=west_quota, receivers=(channel("marketing"),)),
        route("east", match=east_breaches),
    ]
    quota = event(rule_kind="quota", type=EventType.AT_RISK, owner_id=None)
    warning = event(type=EventType.WARNING)
    west = event(owner_id="13")

    assert route_event(quota, routes, directory(), now=WEDNESDAY_10).matched_routes == (
        "marketing",
    )
    assert route_event(warning, routes, directory(), now=WEDNESDAY_10).matched_routes == ()
    assert route_event(west, routes, directory(), now=WEDNESDAY_10).matched_routes == ()
    assert route_event(event(), routes, directory(), now=WEDNESDAY_10).matched_routes == ("east",)


def test_an_owner_without_a_slack_user_goes_to_the_fallback_and_says_why() -> None:
    reps = route(fallback=(channel("sales-managers"),))
    result = route_event(event(owner_id="12"), [reps], directory(), now=WEDNESDAY_10)

    (intent,) = result.intents
    assert (intent.target_kind, intent.target) == (TargetKind.SLACK_CHANNEL, "C200")
    assert intent.receiver.kind is ReceiverKind.CHANNEL
    assert intent.reason is not None
    assert "owner 12 has no Slack user" in intent.reason
    assert Unresolved.NO_SLACK_USER in intent.reason
    assert result.unreachable == ()


def test_a_record_without_an_owner_goes_to_the_fallback() -> None:
    reps = route(fallback=(channel("sales"),))
    result = route_event(event(owner_id=None), [reps], directory(), now=WEDNESDAY_10)

    (intent,) = result.intents
    assert intent.target == "C100"
    assert intent.reason is not None and "no owner" in intent.reason


def test_without_a_fallback_the_missed_receiver_is_reported_not_lost() -> None:
    result = route_event(event(owner_id="12"), [route()], directory(), now=WEDNESDAY_10)

    assert result.intents == ()
    (missed,) = result.unreachable
    assert missed.reason is Unresolved.NO_SLACK_USER
    assert missed.route == "reps"


def test_a_manager_without_a_configured_team_manager_uses_the_fallback() -> None:
    managers = route(receivers=(MANAGER,), fallback=(channel("sales-managers"),))
    result = route_event(event(owner_id="13"), [managers], directory(), now=WEDNESDAY_10)

    assert targets(result) == [("slack_channel", "C200")]
    assert result.intents[0].reason is not None
    assert Unresolved.NO_MANAGER in result.intents[0].reason


def test_one_target_named_by_two_routes_gets_one_intent() -> None:
    routes = [
        route("a", receivers=(channel("sales"),), continue_matching=True),
        route("b", receivers=(channel("C100"), OWNER)),
    ]
    result = route_event(event(), routes, directory(), now=WEDNESDAY_10)

    assert targets(result) == [("slack_channel", "C100"), ("slack_user", "U011")]
    assert result.intents[0].route == "a"


def test_a_webhook_endpoint_only_gets_the_event_types_it_asked_for() -> None:
    hooks = route(receivers=(webhook("crm"),))
    only_breaches = directory(webhook_events={"crm": frozenset({EventType.BREACHED})})

    breached = route_event(event(), [hooks], only_breaches, now=WEDNESDAY_10)
    warned = route_event(event(type=EventType.WARNING), [hooks], only_breaches, now=WEDNESDAY_10)

    assert targets(breached) == [("webhook", "crm")]
    assert warned.intents == ()
    assert warned.unreachable == ()


def test_a_dm_at_night_waits_for_the_owners_working_hours_but_a_channel_does_not() -> None:
    saturday_night = ny(2026, 12, 5, 23, 30)
    routes = [route(receivers=(OWNER, channel("sales")))]
    result = route_event(event(), routes, directory(), now=saturday_night)

    by_kind = {intent.target_kind: intent for intent in result.intents}
    assert by_kind[TargetKind.SLACK_USER].not_before == ny(2026, 12, 7, 9)
    assert by_kind[TargetKind.SLACK_CHANNEL].not_before == saturday_night


def test_a_route_can_make_channel_posts_wait_for_working_hours_too() -> None:
    friday_evening = ny(2026, 12, 4, 18)
    waiting = route(receivers=(channel("sales"),), channels_wait_for_working_hours=True)
    result = route_event(event(), [waiting], directory(), now=friday_evening)

    assert result.intents[0].not_before == ny(2026, 12, 7, 9)


def test_a_silenced_event_is_recorded_as_suppressed_with_the_silence() -> None:
    mute_rule = Silence(
        id="s1",
        reason="migration weekend",
        starts_at=ny(2026, 12, 1),
        ends_at=ny(2026, 12, 3),
        match=Matcher(rule_ids=frozenset({"first-touch"})),
    )
    routes = [route(receivers=(OWNER, channel("sales")))]
    result = route_event(event(), routes, directory(), [mute_rule], now=WEDNESDAY_10)

    assert len(result.suppressed) == 2
    assert result.pending == ()
    assert {i.silence_id for i in result.intents} == {"s1"}
    assert all("migration weekend" in (i.reason or "") for i in result.intents)


def test_a_silence_only_holds_until_its_end_time() -> None:
    short = Silence(
        id="s2",
        reason="vacation",
        starts_at=ny(2026, 12, 1),
        ends_at=WEDNESDAY_10,
        owner_ids=frozenset({"11"}),
    )
    at_end = route_event(event(), [route()], directory(), [short], now=WEDNESDAY_10)
    before = route_event(
        event(), [route()], directory(), [short], now=WEDNESDAY_10 - timedelta(minutes=1)
    )

    assert at_end.suppressed == ()
    assert len(before.suppressed) == 1


def test_a_silence_by_record_leaves_other_records_alone() -> None:
    one_record = Silence(
        id="s3",
        reason="duplicate lead",
        starts_at=ny(2026, 12, 1),
        ends_at=ny(2026, 12, 9),
        records=frozenset({("contact", "999")}),
    )
    result = route_event(event(), [route()], directory(), [one_record], now=WEDNESDAY_10)
    muted = route_event(
        event(object_id="999"), [route()], directory(), [one_record], now=WEDNESDAY_10
    )

    assert result.suppressed == ()
    assert len(muted.suppressed) == 1


def test_a_silence_with_several_criteria_needs_all_of_them() -> None:
    narrow = Silence(
        id="s4",
        reason="snoozed",
        starts_at=ny(2026, 12, 1),
        ends_at=ny(2026, 12, 9),
        owner_ids=frozenset({"11"}),
        instance_ids=frozenset({555}),
    )
    result = route_event(event(), [route()], directory(), [narrow], now=WEDNESDAY_10)
    snoozed = route_event(
        event(instance_id=555), [route()], directory(), [narrow], now=WEDNESDAY_10
    )

    assert result.suppressed == ()
    assert len(snoozed.suppressed) == 1


def test_routes_without_an_event_filter_do_not_take_escalations_meant_for_another_route() -> None:
    catch_all = route("catch-all", receivers=(channel("marketing"),))
    reminder = event(type=EventType.REMINDER, route="gone", step=None)

    result = route_event(reminder, [catch_all], directory(), now=WEDNESDAY_10)

    assert result.intents == ()


def test_silencing_a_rule_also_silences_its_escalations_and_reminders() -> None:
    mute_rule = Silence(
        id="s5",
        reason="rule under review",
        starts_at=ny(2026, 12, 1),
        ends_at=ny(2026, 12, 9),
        match=Matcher(rule_ids=frozenset({"first-touch"})),
    )
    reps = route("reps", escalation=(EscalationStep(parse_goal("2h"), (MANAGER,)),))
    escalated = event(id=2, type=EventType.ESCALATED, route="reps", step=1)
    reminder = event(id=3, type=EventType.REMINDER, route="reps")

    for follow_up in (escalated, reminder):
        result = route_event(follow_up, [reps], directory(), [mute_rule], now=WEDNESDAY_10)
        assert result.intents
        assert result.pending == ()
