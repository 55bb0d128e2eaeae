"""The dashboard at `/`: server-rendered pages on the numbers of app.evaluation.reports."""
