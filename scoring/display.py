"""Display rounding that adds up: SCORING.md rounds every shown number half up to 2 decimals,
and a total from its exact sum, so parts rounded one by one can miss the total they are shown
beside (77.29 of task lines beside a base of 77.28). `apportion` rounds parts so that they sum
to the shown total, by largest remainder (the Hamilton method), exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from scoring.numbers import Rational, round_half_up


def apportion(parts: Sequence[Rational], places: int = 2,
              total: Decimal | None = None) -> list[Decimal]:
    """`parts` rounded to `places` decimals so that they sum to `total` — by default the exact
    sum of the parts rounded half up, which is what SCORING.md shows as their total.

    Each part is first rounded down; the units still missing go one each to the parts with the
    largest remainders (an earlier part first on equal remainders). So every shown part is its
    exact value rounded down or up, never further off. A given `total` (a shown sum that the
    parts make up, e.g. the shown base for its task lines) must be reachable that way: between
    the sum of the parts rounded down and that sum plus one unit per part, else ValueError.
    """
    scale = 10**places
    exact = [Rational(p) * scale for p in parts]
    floors = [int(value.numerator // value.denominator) for value in exact]
    if total is None:
        total = round_half_up(sum(exact, Rational(0)) / scale, places)
    wanted = int(total.scaleb(places).to_integral_value())
    if Decimal(wanted) != total.scaleb(places):
        raise ValueError(f"total {total} has more than {places} decimals")
    missing = wanted - sum(floors)
    if not 0 <= missing <= len(parts):
        raise ValueError(f"total {total} cannot be made of these parts")
    by_remainder = sorted(range(len(parts)), key=lambda i: (-(exact[i] - floors[i]), i))
    units = list(floors)
    for i in by_remainder[:missing]:
        units[i] += 1
    return [Decimal(u).scaleb(-places) for u in units]
