"""Check drivers against the causes planted in a demo scenario (``truth.json``).

Each planted cause has a ``rule`` saying how it is computed from the log; :func:`matches`
says whether a driver found by :func:`lastmile.why.why` is that cause (the same feature, a
value on the risky side, failing more often). Used by the tests and ``bench/why_scenarios.py``.

>>> cause = {"rule": {"type": "attribute", "column": "plan", "op": "==", "value": "app only"},
...          "effect": 1.7}
>>> matches({"feature": "plan", "value": "app only", "lift": 1.4}, cause)
True
>>> matches({"feature": "plan", "value": "premium", "lift": 0.7}, cause)
False
"""

from __future__ import annotations

from typing import Any

from lastmile.why.features import DEADLINE_HOURS

__all__ = ["find_cause", "matches"]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _numeric_side(driver: dict[str, Any], op: str, value: float) -> bool:
    """Whether a binned driver lies (at least partly) on the side ``op value``."""
    lo, hi = driver.get("lo"), driver.get("hi")
    if lo is None and hi is None:
        return False
    if op in ("<", "<="):
        return lo is None or lo < value
    if op in (">", ">="):
        return hi is None or hi > value
    return False


def _names(driver: dict[str, Any]) -> list[tuple[str, str]]:
    out = [(driver["feature"], _text(driver["value"]))]
    for other in driver.get("same_cases_as") or []:
        feat, _, val = other.partition(" = ")
        out.append((feat, val))
    return out


def matches(driver: dict[str, Any], cause: dict[str, Any]) -> bool:
    """Whether ``driver`` is the planted ``cause`` (same feature and value, same direction)."""
    rule = cause["rule"]
    effect = float(cause.get("effect", 2.0))
    lift = driver.get("lift")
    if lift is None or (effect > 1) != (lift > 1):
        return False
    kind = rule["type"]
    for feature, value in _names(driver):
        if kind == "attribute":
            if feature not in (rule["column"], f"{rule['column']} (at entry)"):
                continue
            if rule["op"] == "==":
                if value.lower() == _text(rule["value"]).lower():
                    return True
            elif feature == driver["feature"] and _numeric_side(driver, rule["op"],
                                                               float(rule["value"])):
                return True
        elif kind == "resource":
            if feature == f"resource: {rule['activity']}" and value == _text(rule["value"]):
                return True
        elif kind == "path":
            want = "present" if rule.get("op", "present") == "present" else "absent"
            if feature == f"before last mile: {rule['activity']}" and value == want:
                return True
        elif kind == "gap":
            if feature == "wait after entry" and feature == driver["feature"] \
                    and _numeric_side(driver, rule["op"], float(rule["value"])):
                return True
        elif kind == "gap_ratio":
            if feature == "pace before entry":
                return True
        elif kind == "count_after":
            if feature == "pace after finish" and driver.get("lo") is None:
                return True
        elif kind == "no_event_before":
            want = f"event in final {DEADLINE_HOURS}h before {rule['column']}"
            if feature == want and value == "no" and int(rule.get("hours", 72)) \
                    == DEADLINE_HOURS:
                return True
    return False


def find_cause(drivers: list[dict[str, Any]], cause: dict[str, Any]) -> int | None:
    """0-based rank of the first driver that is ``cause``, or None."""
    for i, d in enumerate(drivers):
        if matches(d, cause):
            return i
    return None
