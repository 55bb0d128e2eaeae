"""A deterministic synthetic HubSpot portal (see portal.py for how records are kept)."""

from sandbox.portal.portal import Portal, TruthRecord, wall_clock_ms
from sandbox.portal.records import HistoryEntry, PortalConfig, Record

__all__ = ["HistoryEntry", "Portal", "PortalConfig", "Record", "TruthRecord", "wall_clock_ms"]
