"""The errors whose message is written for a person, wherever they come from.

slaguard's own derive from `SlaguardError`; the clients in `integrations/` have their own base
(they do not import the app) but keep the same promise: one sentence, no secret. Whoever ends
a command, a job or a run with such a sentence instead of a traceback catches `REPORTED_ERRORS`.
`app.errors` cannot name the clients' bases itself: the rules engine imports it and stays free
of everything else.
"""

from __future__ import annotations

from app.errors import SlaguardError
from integrations.hubspot.errors import HubSpotError

REPORTED_ERRORS: tuple[type[Exception], ...] = (SlaguardError, HubSpotError)
