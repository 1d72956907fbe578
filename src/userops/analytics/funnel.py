"""Funnels (转化漏斗): ordered steps within a conversion window, with PostHog's semantics.

Every step-1 event in [date_from, date_to] (shop-local days) starts an attempt; a person counts
at the deepest step any of their attempts reaches, step k after step k-1 and no later than the
window after the attempt started (inclusive). ``entry="first"`` tries only the first step-1
event (the older greedy funnel). Per step: people, conversion from the previous step and from
the first, the median and average time from the previous step, and the people who dropped
there. A step whose event nobody has done yet counts 0 with a warning naming close matches.

>>> from userops.analytics.funnel import FunnelQuery, funnel, parse_step
>>> funnel(hub.warehouse, timezone="Asia/Shanghai",
...        query=FunnelQuery(steps=[parse_step("product_view"), parse_step("order")]))
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir
from pydantic import BaseModel, Field

from userops.analytics import common, queries
from userops.analytics.schemas import Funnel, FunnelGroup, FunnelStepResult
from userops.core.clock import local_midnight_utc, local_today
from userops.core.errors import InvalidInput
from userops.warehouse import Warehouse

__all__ = ["FunnelQuery", "Step", "funnel", "funnel_dropped", "parse_step", "parse_window"]

STEP_SPECIAL = (queries.ORDER_EVENT,)
ORDER_FILTERS = ("channel",)
MAX_STEPS = 10
_WINDOW = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class Step(BaseModel):
    event: str
    filters: dict[str, str] = Field(default_factory=dict)

    def label(self) -> str:
        extra = ",".join(f"{k}={v}" for k, v in self.filters.items())
        return f"{self.event}:{extra}" if extra else self.event


class FunnelQuery(BaseModel):
    steps: list[Step]
    window_seconds: int = 7 * 86400
    date_from: date | None = None
    """First day people may enter (default: 30 days before ``date_to``)."""
    date_to: date | None = None
    """Last day people may enter (default: the latest day with data)."""
    breakdown: str | None = None
    entry: str = "any"
    """``any`` (PostHog: the deepest attempt counts) or ``first`` (only the first step-1 event
    in the range is tried; the greedy funnel of userops 0.x)."""


def parse_step(text: str) -> Step:
    """``event`` or ``event:key=value,key2=value2`` (property equality filters)."""
    name, _, rest = text.strip().partition(":")
    if not name:
        raise InvalidInput(f"a step needs an event name, got {text!r}", field="step")
    filters: dict[str, str] = {}
    for item in filter(None, rest.split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(
                f"a step filter needs key=value, got {item!r} in {text!r}", field="step"
            )
        filters[key.strip()] = value.strip()
    return Step(event=name, filters=filters)


def parse_window(text: str) -> int:
    """``7d``, ``12h``, ``30m``, ``2w`` or ``90s`` → seconds."""
    m = _WINDOW.match(text.strip().lower())
    if not m or int(m.group(1)) == 0:
        raise InvalidInput(
            f"window must be a positive number with a unit s, m, h, d or w (e.g. 7d), got {text!r}",
            field="window",
        )
    return int(m.group(1)) * _UNITS[m.group(2)]


def _check(con: ibis.BaseBackend, q: FunnelQuery) -> list[str]:
    """Refuse malformed funnels; return warnings for steps nobody has done yet (they count 0,
    as in PostHog, so a funnel can be set up before its last event ships)."""
    if not 2 <= len(q.steps) <= MAX_STEPS:
        raise InvalidInput(
            f"a funnel needs 2 to {MAX_STEPS} steps, got {len(q.steps)}", field="step"
        )
    if not 1 <= q.window_seconds <= 366 * 86400:
        raise InvalidInput("window must be between 1 second and 366 days", field="window")
    common.choose(q.entry, queries.FUNNEL_ENTRIES, "entry")
    warnings = []
    for i, step in enumerate(q.steps, start=1):
        if step.event == queries.ORDER_EVENT:
            bad = sorted(set(step.filters) - set(ORDER_FILTERS))
            if bad:
                raise InvalidInput(
                    f"order steps filter on {', '.join(ORDER_FILTERS)} only, got {bad}",
                    field="step",
                )
        elif not common.is_known_event(con, step.event, special=STEP_SPECIAL):
            close = common.close_matches(con, step.event, special=STEP_SPECIAL)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            warnings.append(
                f"step {i} ({step.event!r}): nobody has done this event yet, it counts 0{hint}"
            )
    return warnings


def _reach(con: ibis.BaseBackend, timezone: str, q: FunnelQuery) -> tuple[ir.Table, date, date]:
    date_to = q.date_to or common.latest_day(con, timezone) or local_today(timezone)
    date_from = q.date_from or date_to - timedelta(days=29)
    if date_from > date_to:
        raise InvalidInput("date_from must not be after date_to", field="date_from")
    tz = ZoneInfo(timezone)
    since = local_midnight_utc(date_from, tz)
    until = local_midnight_utc(date_to + timedelta(days=1), tz)
    streams = [queries.step_stream(con, s.event, s.filters) for s in q.steps]
    same = [False] + [q.steps[i] == q.steps[i - 1] for i in range(1, len(q.steps))]
    reach = queries.funnel_reach(streams, same, since, until, q.window_seconds, q.entry)
    return reach, date_from, date_to


def _metrics(reach: ir.Table, n: int) -> dict[str, ir.Value]:
    metrics: dict[str, ir.Value] = {}
    for k in range(n):
        metrics[f"n{k}"] = reach[f"t{k}"].count()
        if k:
            gap = reach[f"t{k}"].epoch_seconds() - reach[f"t{k - 1}"].epoch_seconds()
            metrics[f"m{k}"] = gap.median()
            metrics[f"a{k}"] = gap.mean()
    return metrics


def _steps_of(labels: list[str], row: dict[str, object]) -> list[FunnelStepResult]:
    n = len(labels)
    people = [int(row.get(f"n{k}") or 0) for k in range(n)]  # type: ignore[call-overload]
    out = []
    for k in range(n):
        median, mean = (row.get(f"m{k}"), row.get(f"a{k}")) if k else (None, None)
        out.append(
            FunnelStepResult(
                step=labels[k],
                people=people[k],
                conversion_from_previous=common.safe_div(people[k], people[k - 1])
                if k
                else (1.0 if people[0] else None),
                conversion_from_first=common.safe_div(people[k], people[0]),
                median_seconds_to_convert=float(median) if median is not None else None,  # type: ignore[arg-type]
                average_seconds_to_convert=round(float(mean), 3) if mean is not None else None,  # type: ignore[arg-type]
                dropped=people[k - 1] - people[k] if k else 0,
            )
        )
    return out


def funnel(warehouse: Warehouse, *, timezone: str, query: FunnelQuery) -> Funnel:
    with common.opened(warehouse) as con:
        warnings = _check(con, query)
        reach, date_from, date_to = _reach(con, timezone, query)
        n = len(query.steps)
        total = common.rows(reach.aggregate(**_metrics(reach, n)))
        table: list[dict[str, object]] = []
        if query.breakdown is not None:
            grouped = common.attach_group(con, reach, query.breakdown)
            table = common.rows(grouped.group_by("group").aggregate(**_metrics(grouped, n)))
    labels = [s.label() for s in query.steps]
    result = Funnel(
        steps=_steps_of(labels, total[0] if total else {}),
        window_seconds=query.window_seconds,
        date_from=date_from,
        date_to=date_to,
        timezone=timezone,
        breakdown=query.breakdown,
        entry=query.entry,
        warnings=warnings,
    )
    if query.breakdown is not None:
        groups = [FunnelGroup(value=str(r["group"]), steps=_steps_of(labels, r)) for r in table]
        groups.sort(key=lambda g: (-g.steps[0].people, g.value))
        result.groups = groups
    return result


def funnel_dropped(
    warehouse: Warehouse, *, timezone: str, query: FunnelQuery, step: int, limit: int = 10_000
) -> list[str]:
    """The people who did step ``step - 1`` but not step ``step`` (1-based ``step`` ≥ 2): the
    ids a segment of drop-offs is built from."""
    if not 2 <= step <= len(query.steps):
        raise InvalidInput(
            f"step must be between 2 and {len(query.steps)}, got {step}", field="dropped_at"
        )
    with common.opened(warehouse) as con:
        _check(con, query)
        reach, _, _ = _reach(con, timezone, query)
        k = step - 1
        dropped = reach.filter(reach[f"t{k - 1}"].notnull(), reach[f"t{k}"].isnull())
        people = common.rows(dropped.select("person").order_by("person").limit(limit))
    return [str(r["person"]) for r in people]
