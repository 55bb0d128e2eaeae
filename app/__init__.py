"""slaguard: keeps the marketing-sales SLA honest on HubSpot."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("slaguard")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"
