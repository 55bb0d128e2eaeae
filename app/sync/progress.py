"""How a sync reports progress: the CLI shows bars or log lines, the scheduler nothing."""

from __future__ import annotations

import logging
from typing import Protocol

log = logging.getLogger(__name__)


class SyncProgress(Protocol):
    def begin(self, object_type: str, total: int | None) -> None: ...

    def advance(self, object_type: str, records: int) -> None: ...

    def end(self, object_type: str) -> None: ...


class LogProgress:
    """Plain log lines: one when an object type starts, one when it ends."""

    def __init__(self) -> None:
        self._done: dict[str, int] = {}

    def begin(self, object_type: str, total: int | None) -> None:
        self._done[object_type] = 0
        if total is None:
            log.info("syncing %s", object_type)
        else:
            log.info("syncing %s: about %d record%s to read", object_type, total, "s"[: total != 1])

    def advance(self, object_type: str, records: int) -> None:
        self._done[object_type] = self._done.get(object_type, 0) + records

    def end(self, object_type: str) -> None:
        log.info("synced %s: %d records read", object_type, self._done.get(object_type, 0))
