"""`python -m scoring`: cases as JSON on stdin (one, or a list), results as JSON on stdout."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from typing import Any

from scoring.cases import run_case


def _encode(value: object) -> Any:
    if isinstance(value, Decimal):
        # A JSON number, printed as its 2-decimal text reads (97.75, not 97.75000000000001).
        return float(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def main() -> int:
    try:
        data = json.loads(sys.stdin.read(), parse_float=Decimal)
    except json.JSONDecodeError as exc:
        json.dump({"error": f"input is not JSON: {exc}"}, sys.stdout)
        sys.stdout.write("\n")
        return 2
    result: object = [run_case(case) for case in data] if isinstance(data, list) else run_case(data)
    json.dump(result, sys.stdout, ensure_ascii=False, default=_encode, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
