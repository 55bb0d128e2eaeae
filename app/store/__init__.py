"""The store layer: engines and sessions, SQLite's write discipline, migrations, bulk writes."""
