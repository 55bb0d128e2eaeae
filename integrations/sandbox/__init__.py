"""Local stand-ins for HubSpot and Slack, faithful at the wire, for demo, tests and benchmarks."""
