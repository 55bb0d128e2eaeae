"""`slaguard sandbox`: the HubSpot and Slack emulators on one port, with a living portal."""

from __future__ import annotations

import typer

from app.cli.common import console, fail, settings_from_env
from app.cli.serve import run_server
from sandbox.server import ActivityTicker, SandboxOptions, build_sandbox

MAX_CONTACTS = 1_000_000


def register(cli: typer.Typer) -> None:
    @cli.command()
    def sandbox(
        contacts: int = typer.Option(
            10_000, help="Contacts in the synthetic portal (100-1,000,000)."
        ),
        seed: int = typer.Option(1, help="Same seed, same portal."),
        no_limits: bool = typer.Option(
            False, "--no-limits", help="Turn HubSpot's and Slack's rate limits off."
        ),
        fault_rate: float = typer.Option(0.0, help="Share of requests answered 502/503/504 (0-1)."),
        webhook_target: str | None = typer.Option(
            None, help="URL that receives signed HubSpot webhooks."
        ),
        tick_seconds: float = typer.Option(
            10.0, help="Seconds between activity ticks (0: no simulated activity)."
        ),
        host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
        port: int = typer.Option(8100, help="TCP port.", min=0, max=65535),
    ) -> None:
        """Run local HubSpot and Slack emulators over a synthetic portal (no accounts needed).

        Point HUBSPOT_BASE_URL and SLACK_API_URL at the printed URLs. Tokens come from
        HUBSPOT_ACCESS_TOKEN and SLACK_BOT_TOKEN when set; otherwise new ones are printed.
        """
        if not 100 <= contacts <= MAX_CONTACTS:
            fail(f"--contacts must be between 100 and {MAX_CONTACTS:,}; got {contacts:,}.")
        if not 0.0 <= fault_rate <= 1.0:
            fail(f"--fault-rate must be between 0 and 1; got {fault_rate}.")
        if tick_seconds < 0:
            fail(f"--tick-seconds must not be negative; got {tick_seconds}.")
        if webhook_target and not webhook_target.startswith(("http://", "https://")):
            fail(f"--webhook-target must be an http(s) URL; got {webhook_target!r}.")
        settings = settings_from_env()
        hubspot_token = _secret(settings.hubspot_access_token)
        slack_token = _secret(settings.slack_bot_token)
        options = SandboxOptions(
            contacts=contacts,
            seed=seed,
            limits=not no_limits,
            fault_rate=fault_rate,
            webhook_target=webhook_target,
            hubspot_token=hubspot_token,
            client_secret=_secret(settings.hubspot_client_secret),
            slack_token=slack_token,
            webhook_delivery="background",
            tick_seconds=tick_seconds or None,
        )
        built = build_sandbox(options)
        made = {
            "HUBSPOT_ACCESS_TOKEN": None if hubspot_token else built.hubspot.settings.access_token,
            "SLACK_BOT_TOKEN": None if slack_token else built.slack_token,
            "HUBSPOT_CLIENT_SECRET": None
            if options.client_secret
            else built.hubspot.settings.client_secret,
        }
        # Credentials the sandbox made itself are printed so they can be copied into the
        # service's environment; ones that came from the environment are never echoed.
        for name, value in made.items():
            if value is not None:
                console.print(f"{name}={value}", highlight=False)
        if built.hubspot.webhooks is not None:
            built.hubspot.webhooks.start()
        ticker = ActivityTicker(built.hubspot, tick_seconds).start() if tick_seconds else None
        extra = [
            ("Slack API", "/api/"),
            ("Slack messages", "/slack/"),
            ("Sandbox control", "/_sandbox/stats"),
        ]
        try:
            run_server(built.app, host, port, "HubSpot API", settings.slaguard_log_level, extra)
        finally:
            if ticker is not None:
                ticker.stop()
            if built.hubspot.webhooks is not None:
                built.hubspot.webhooks.stop()


def _secret(value: object) -> str | None:
    getter = getattr(value, "get_secret_value", None)
    return str(getter()) if getter is not None else None
