"""The operator's view of a running slaguard: `/admin/health` and `/metrics`.

`repository` holds every query (read-only, on indexed columns), `health` turns what it reads
into a status with reasons, `metrics` exposes the same store to Prometheus at scrape time.
"""
