"""The fixed vocabularies stored as short strings. Their labels live in locales/, not here."""

from typing import Final

UNIT_KINDS: Final = ("city", "department", "township", "street", "office")
DIMENSIONS: Final = ("basic", "key")
RECURRENCES: Final = ("once", "monthly", "quarterly")
GRADES: Final = ("A", "B", "C", "D")
PERIOD_KINDS: Final = ("year", "quarter")

# Report life cycle: draft -> submitted -> approved | returned | rejected; returned -> submitted.
DRAFT: Final = "draft"
SUBMITTED: Final = "submitted"
APPROVED: Final = "approved"
RETURNED: Final = "returned"
REJECTED: Final = "rejected"
REPORT_STATES: Final = (DRAFT, SUBMITTED, APPROVED, RETURNED, REJECTED)

CLAIM_STATES: Final = (SUBMITTED, APPROVED, REJECTED)
INNOVATION_LEVELS: Final = ("national", "region", "prefecture", "city")

# Outbox delivery states.
PENDING: Final = "pending"
SENT: Final = "sent"
FAILED: Final = "failed"
BLOCKED: Final = "blocked"
DROPPED: Final = "dropped"  # no longer relevant when its turn came (e.g. reported meanwhile)

# Annual rating (models/rating.py): publicity 公示 -> final (period locked) -> unlocked -> ...
PUBLICITY: Final = "publicity"
FINAL: Final = "final"
UNLOCKED: Final = "unlocked"
# Objections: open -> upheld | dismissed.
OPEN: Final = "open"
UPHELD: Final = "upheld"
DISMISSED: Final = "dismissed"
