"""`slaguard demo`: the sandbox portal, a first sync and the service, on a throw-away store.

- `settings.py`: the demo's Settings, built in code from the sandbox's URLs and credentials
  (the user's environment and `.env` are ignored, so no production value leaks in).
- `ports.py`: binding the ports up front, so a port in use fails in one sentence at once.
- `service.py`: the service on a pre-bound socket, with a hook that runs once it answers.
- `rules.yaml`: the demo's rules file, shipped inside the package.
"""
