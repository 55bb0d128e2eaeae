"""The HubSpot API emulator (CRM v3/v4 reads, owners, pipelines, properties, account)."""

from sandbox.hubspot.app import create_hubspot_app
from sandbox.hubspot.state import EmulatorSettings, HubSpotEmulator

__all__ = ["EmulatorSettings", "HubSpotEmulator", "create_hubspot_app"]
