"""Both emulators in one sandbox: Slack's members are the portal's HubSpot owners."""

from __future__ import annotations

from hubspot import HubSpot
from slack_sdk import WebClient


def test_a_hubspot_owner_is_found_in_slack_by_email(sandbox):
    owners = HubSpot(access_token=sandbox.token, host=sandbox.hubspot_url).crm.owners
    owner = owners.owners_api.get_page(limit=1).results[0]
    slack = WebClient(token=sandbox.slack_token, base_url=sandbox.slack_url)
    user = slack.users_lookupByEmail(email=owner.email)["user"]
    assert user["profile"]["email"] == owner.email
    assert user["real_name"] == f"{owner.first_name} {owner.last_name}"


def test_both_emulators_share_one_port(sandbox):
    assert sandbox.slack_url == f"{sandbox.hubspot_url}/api/"
    slack = WebClient(token=sandbox.slack_token, base_url=sandbox.slack_url)
    assert slack.auth_test()["ok"] is True
