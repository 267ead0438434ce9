"""The one error the scoring core raises."""


class ScoringError(ValueError):
    """Input the scoring core refuses; the message names the item and the field."""
