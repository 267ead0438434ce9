"""How often a request whose initData does not check out is audited.

Anyone can send such a request, and each wrote an audit row: a client could grow the audit
table without limit. Each is still refused (401); a client address gets at most one row a
minute, and the row says how many of its requests since the last one went unrecorded. The
addresses are kept in memory, the `size` whose rows were written last: when every one kept
had its row this minute, a new address shares one row a minute with the others in that plight
(OTHERS), so no more than about `size` rows are written a minute, however many addresses a
client has.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from datetime import datetime, timedelta

log = logging.getLogger(__name__)

EVERY = timedelta(minutes=1)
ADDRESSES = 1024
OTHERS = "*"


class AuditThrottle:
    def __init__(self, every: timedelta = EVERY, size: int = ADDRESSES) -> None:
        self.every, self.size = every, size
        # address -> when its last row was written, its requests not recorded since
        self._seen: OrderedDict[str, tuple[datetime, int]] = OrderedDict()
        self._lock = threading.Lock()  # the dashboard's reader threads ask at once

    def admit(self, address: str, now: datetime) -> int | None:
        """None: count this request, write no row. Else write one, saying that this many of
        the address's requests went unrecorded since its last."""
        with self._lock:
            if address not in self._seen:
                # Room for it: let go of the addresses whose row is a minute old, logging what
                # they left unrecorded; none such, it goes with the others.
                while len(self._seen) >= self.size:
                    oldest, (at, unrecorded) = next(iter(self._seen.items()))
                    if now - at < self.every:
                        address = OTHERS
                        break
                    del self._seen[oldest]
                    if unrecorded:
                        log.warning("dashboard: %d requests with bad initData from %s were "
                                    "not audited", unrecorded, oldest)
            seen = self._seen.get(address)
            if seen is not None and now - seen[0] < self.every:
                self._seen[address] = (seen[0], seen[1] + 1)  # its place: by its last row
                return None
            self._seen[address] = (now, 0)
            self._seen.move_to_end(address)
            return seen[1] if seen is not None else 0
