"""EventBridge schedule expressions, `rate(5 minutes)` and `cron(0 12 * * ? *)`: validated at `check` time and
turned into fire times by the local endpoint, so both read them the same way.

The grammar is EventBridge's (UTC, six cron fields: minutes hours day-of-month month day-of-week year; exactly
one of day-of-month and day-of-week is `?`; day-of-week 1 = SUN).
"""

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

RATE = re.compile(r"rate\((?P<value>[0-9]+) (?P<unit>minutes?|hours?|days?)\)")
CRON = re.compile(r"cron\((?P<fields>[^()]*)\)")
UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
MONTHS = {name: index for index, name in enumerate(calendar.month_abbr) if name}
MONTHS = {name.upper(): index for name, index in MONTHS.items()}
DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
# (name, low, high, names) of each cron field, in order
FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minutes", 0, 59, {}),
    ("hours", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    ("month", 1, 12, MONTHS),
    ("day-of-week", 1, 7, DAYS),
    ("year", 1970, 2199, {}),
)
SEARCH_DAYS = 366 * 5  # a cron that matches no day within five years never fires (e.g. 30 FEB)


class ScheduleError(ValueError):
    """The expression is not one EventBridge accepts; the message says why in one line."""


@dataclass(frozen=True)
class Schedule:
    """A parsed expression: either a fixed `rate_s`, or the cron fields' allowed values."""

    expression: str
    rate_s: int | None = None
    cron: tuple[str, ...] = ()

    def next_after(self, moment: datetime) -> datetime | None:
        """The first fire time strictly after `moment` (UTC); None when a cron never fires again."""
        if self.rate_s is not None:
            return moment + timedelta(seconds=self.rate_s)
        return _next_cron(self.cron, moment)


def parse(expression: str) -> Schedule:
    """Parse `rate(...)` or `cron(...)`; raises ScheduleError naming the problem."""
    rate = RATE.fullmatch(expression)
    if rate:
        value, unit = int(rate["value"]), rate["unit"]
        if value < 1:
            raise ScheduleError(f"{expression!r}: the rate must be a positive number")
        if (value == 1) != (not unit.endswith("s")):
            raise ScheduleError(
                f"{expression!r}: write '1 {unit.rstrip('s')}' for one, '{value} {unit.rstrip('s')}s' for more"
            )
        return Schedule(expression, rate_s=value * UNIT_SECONDS[unit.rstrip("s")])
    cron = CRON.fullmatch(expression)
    if not cron:
        raise ScheduleError(f"{expression!r} is neither 'rate(<n> minute[s]|hour[s]|day[s])' nor 'cron(<6 fields>)'")
    fields = tuple(cron["fields"].split())
    if len(fields) != 6:
        raise ScheduleError(f"{expression!r}: cron needs 6 fields (minutes hours day-of-month month day-of-week year)")
    if (fields[2] == "?") == (fields[4] == "?"):
        raise ScheduleError(f"{expression!r}: exactly one of day-of-month and day-of-week must be '?'")
    for index, text in enumerate(fields):
        _check_field(expression, index, text)
    return Schedule(expression, cron=fields)


def _check_field(expression: str, index: int, text: str) -> None:
    name, low, high, names = FIELDS[index]
    if text in ("*", "?") and (text == "*" or index in (2, 4)):
        return
    if index == 2 and (text == "L" or re.fullmatch(r"[0-9]{1,2}W", text)):
        _value(expression, name, text.rstrip("W") if text != "L" else "1", low, high, names)
        return
    if index == 4 and (m := re.fullmatch(r"([A-Z0-9]+)(L|#[1-5])", text.upper())):
        _value(expression, name, m[1], low, high, names)
        return
    for part in text.split(","):
        base, _, step = part.partition("/")
        if step and (not step.isdigit() or int(step) < 1):
            raise ScheduleError(f"{expression!r}: {name} step {step!r} is not a positive number")
        if base == "*":
            continue
        start, _, end = base.partition("-")
        _value(expression, name, start, low, high, names)
        if end:
            _value(expression, name, end, low, high, names)


def _value(expression: str, name: str, text: str, low: int, high: int, names: dict[str, int]) -> int:
    value = names.get(text.upper()) if text.upper() in names else (int(text) if text.isdigit() else None)
    if value is None or not low <= value <= high:
        raise ScheduleError(f"{expression!r}: {name} value {text!r} is not in {low}-{high}")
    return value


def _values(text: str, low: int, high: int, names: dict[str, int]) -> set[int]:
    """The plain values a list/range/step field allows (no L, W or #)."""
    allowed: set[int] = set()
    for part in text.split(","):
        base, _, step = part.partition("/")
        if base in ("*", "?"):
            start, end = low, high
        else:
            first, _, last = base.partition("-")
            start = _value("", "", first, low, high, names)
            end = _value("", "", last, low, high, names) if last else (high if step else start)
        if end < start:  # a wrapping range such as FRI-MON
            allowed |= set(range(start, high + 1, int(step or 1))) | set(range(low, end + 1, int(step or 1)))
        else:
            allowed |= set(range(start, end + 1, int(step or 1)))
    return allowed


def _dom_matches(text: str, day: datetime) -> bool:
    last = calendar.monthrange(day.year, day.month)[1]
    if text == "L":
        return day.day == last
    if text.endswith("W"):  # the weekday nearest to that day, within the month
        target = min(int(text[:-1]), last)
        candidate = day.replace(day=target)
        if candidate.weekday() == 5:
            candidate += timedelta(days=-1 if target > 1 else 2)
        elif candidate.weekday() == 6:
            candidate += timedelta(days=1 if target < last else -2)
        return day.day == candidate.day
    return day.day in _values(text, 1, 31, {})


def _dow_matches(text: str, day: datetime) -> bool:
    weekday = (day.weekday() + 1) % 7 + 1  # Python: MON=0; cron: SUN=1
    upper = text.upper()
    if m := re.fullmatch(r"([A-Z0-9]+)L", upper):
        wanted = DAYS.get(m[1]) or int(m[1])
        return weekday == wanted and day.day + 7 > calendar.monthrange(day.year, day.month)[1]
    if m := re.fullmatch(r"([A-Z0-9]+)#([1-5])", upper):
        wanted = DAYS.get(m[1]) or int(m[1])
        return weekday == wanted and (day.day - 1) // 7 + 1 == int(m[2])
    return weekday in _values(text, 1, 7, DAYS)


def _next_cron(fields: tuple[str, ...], moment: datetime) -> datetime | None:
    minutes, hours = _values(fields[0], 0, 59, {}), _values(fields[1], 0, 23, {})
    months, years = _values(fields[3], 1, 12, MONTHS), _values(fields[5], 1970, 2199, {})
    start = moment.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    day = start.replace(hour=0, minute=0)
    for _ in range(SEARCH_DAYS):
        matches = day.year in years and day.month in months
        matches = matches and (_dow_matches(fields[4], day) if fields[2] == "?" else _dom_matches(fields[2], day))
        if matches:
            for hour in sorted(hours):
                for minute in sorted(minutes):
                    candidate = day.replace(hour=hour, minute=minute)
                    if candidate >= start:
                        return candidate
        day += timedelta(days=1)
    return None
