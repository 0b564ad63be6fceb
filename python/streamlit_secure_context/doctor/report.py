"""Check results and how they are reported: text lines or JSON, and the exit code for CI."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Literal

Status = Literal["PASS", "WARN", "FAIL"]


@dataclass(frozen=True)
class Check:
    """One finding. `fix` says what to change; it is empty only for a PASS."""

    id: str
    status: Status
    message: str
    fix: str = ""


def passed(id: str, message: str) -> Check:
    return Check(id, "PASS", message)


def warn(id: str, message: str, fix: str) -> Check:
    return Check(id, "WARN", message, fix)


def fail(id: str, message: str, fix: str) -> Check:
    return Check(id, "FAIL", message, fix)


def ok(checks: list[Check], strict: bool) -> bool:
    """No FAIL; with `strict`, no WARN either."""
    bad = {"FAIL", "WARN"} if strict else {"FAIL"}
    return not any(c.status in bad for c in checks)


def counts(checks: list[Check]) -> dict[str, int]:
    return {s.lower(): sum(c.status == s for c in checks) for s in ("PASS", "WARN", "FAIL")}


def as_text(checks: list[Check], strict: bool) -> str:
    lines = []
    for c in checks:
        lines.append(f"{c.status}  {c.id}: {c.message}")
        if c.fix:
            lines.append(f"      fix: {c.fix}")
    n = counts(checks)
    verdict = "OK" if ok(checks, strict) else "NOT OK"
    lines.append(f"{verdict}: {n['pass']} passed, {n['warn']} warning(s), {n['fail']} failure(s)"
                 + (" (--strict: warnings fail)" if strict else ""))
    return "\n".join(lines)


def as_json(checks: list[Check], strict: bool) -> str:
    return json.dumps(
        {"ok": ok(checks, strict), "strict": strict, "summary": counts(checks), "checks": [asdict(c) for c in checks]},
        indent=2,
    )
