"""Time in how people write it: "last 10 minutes", "the past hour", "ninety minutes", "yesterday",
"since 9am", "from 14:00 to 14:30", "since Monday", "last week".

What is *not* time is as important: an HTTP status ("503s", "500s", "429"), a status class ("5xx"), a
version ("1.2.3"), a count ("the 20 most recent errors"), a threshold ("500ms p99", "2%").
`span(text, now)` returns where a window starts and ends, in minutes before `now` (local time: a person
means their own 9am and their own Monday).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

_UNIT_MINUTES = {"s": 1 / 60, "sec": 1 / 60, "secs": 1 / 60, "second": 1 / 60, "seconds": 1 / 60,
                 "m": 1, "min": 1, "mins": 1, "minute": 1, "minutes": 1,
                 "h": 60, "hr": 60, "hrs": 60, "hour": 60, "hours": 60,
                 "d": 1440, "day": 1440, "days": 1440, "w": 10080, "wk": 10080, "week": 10080, "weeks": 10080,
                 "month": 43200, "months": 43200}
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
                 "thirty": 30, "forty": 40, "forty-five": 45, "fifty": 50, "sixty": 60, "ninety": 90,
                 "a couple of": 2, "a couple": 2, "couple of": 2, "a few": 3, "few": 3, "several": 3}
_UNIT = r"(?P<unit>s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|wks?|weeks?|months?)"
_AMOUNT = (r"(?P<number>\d+(?:\.\d+)?)\s*|(?P<word>" + "|".join(sorted(map(re.escape, _NUMBER_WORDS), key=len, reverse=True))
           + r")\s+")
_DURATION = re.compile(r"(?<![\w.])(?:(?:" + _AMOUNT + r")" + _UNIT + r"|(?P<half>half an? hour|half hour)"
                       r"|(?P<quarter>(?:a )?quarter(?: of an)?(?:-| )hour))(?![\w.%])", re.I)
# "the last hour", "past day", "previous week": a unit with no number means one of it
_BARE_UNIT = re.compile(r"\b(?:last|past|previous|this past|the)\s+(?P<unit>minute|hour|day|week|month)\b", re.I)
_LEAD_IN = re.compile(r"\b(?:last|past|previous|over|within|for|in|during)\b(?:\s+the)?(?:\s+(?:last|past))?\s*$", re.I)
_HTTP = re.compile(r"\b[1-5]\d\d$")
_CLOCK = r"(?P<{n}h>\d{{1,2}})(?::(?P<{n}m>\d\d))?\s*(?P<{n}ap>am|pm|a\.m\.|p\.m\.)?"
_SINCE_CLOCK = re.compile(r"\b(?:since|from|after)\s+" + _CLOCK.format(n="a") + r"(?!\s*(?:ms|s|%|\.\d))", re.I)
_RANGE = re.compile(r"\b(?:from|between)\s+" + _CLOCK.format(n="a") + r"\s*(?:to|and|until|till|-|–)\s*"
                    + _CLOCK.format(n="b"), re.I)
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_SINCE_DAY = re.compile(r"\b(?:since|from)\s+(?:last\s+)?(?P<day>" + "|".join(_WEEKDAYS) + r")\b", re.I)
_ON_DAY = re.compile(r"\b(?:on\s+)?(?:last\s+)?(?P<day>" + "|".join(_WEEKDAYS) + r")\b", re.I)


@dataclass(frozen=True)
class Span:
    """A stretch of time ending `end_ago` minutes before now and `minutes` long; `since` is how far back a
    history should reach (a rolling reading: "yesterday" = the last 24 hours)."""

    minutes: int
    end_ago: int = 0
    since: int | None = None
    phrase: str = ""

    @property
    def start_ago(self) -> int:
        return self.end_ago + self.minutes


def _minutes(amount: float, unit: str) -> int:
    unit = unit.lower()
    return max(1, round(amount * _UNIT_MINUTES.get(unit, _UNIT_MINUTES.get(unit.rstrip("s"), 1))))


def _hour(hour: str, minute: str | None, ampm: str | None) -> tuple[int, int] | None:
    h, m = int(hour), int(minute or 0)
    ampm = (ampm or "").replace(".", "").lower()
    if ampm == "pm" and h < 12:
        h += 12
    if ampm == "am" and h == 12:
        h = 0
    if not ampm and minute is None:
        return None  # "since 9" alone may be a version, a count, anything: not a clock time
    return (h, m) if 0 <= h < 24 and 0 <= m < 60 else None


def _ago(now: datetime, hour: int, minute: int) -> int:
    moment = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if moment > now:
        moment -= timedelta(days=1)
    return max(1, round((now - moment).total_seconds() / 60))


def _since_midnight(now: datetime) -> int:
    return max(1, round((now - now.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds() / 60))


def _since_weekday(now: datetime, day: str) -> int:
    back = (now.weekday() - _WEEKDAYS.index(day.lower())) % 7
    return _since_midnight(now) + back * 1440


def is_status_code(text: str, start: int, number: str) -> bool:
    """"503s", "500s", "429": an HTTP status, unless a time lead-in says it is a duration ("last 300s")."""
    return bool(_HTTP.search(number)) and not _LEAD_IN.search(text[:start])


def durations(text: str) -> list[tuple[int, int, int]]:
    """(minutes, start, end) of each duration said, in order."""
    found: list[tuple[int, int, int]] = []
    for match in _DURATION.finditer(text):
        if match.group("half"):
            found.append((30, match.start(), match.end()))
            continue
        if match.group("quarter"):
            found.append((15, match.start(), match.end()))
            continue
        number, word, unit = match.group("number"), match.group("word"), match.group("unit")
        if number is not None:
            if unit.lower() in ("s", "m", "h", "d", "w") and is_status_code(text, match.start(), number):
                continue  # "503s", "500s"
            if unit.lower() == "m" and re.match(r"\s*[mM]s\b", text[match.end() - 1:]):
                continue
            amount = float(number)
        else:
            if len(unit) == 1:
                continue  # "a m" is not "a minute"
            amount = _NUMBER_WORDS[word.lower()]
        found.append((_minutes(amount, unit), match.start(), match.end()))
    for match in _BARE_UNIT.finditer(text):
        if not any(s <= match.start("unit") < e for _, s, e in found):
            found.append((_minutes(1, match.group("unit")), match.start(), match.end()))
    return sorted(found, key=lambda f: f[1])


def span(text: str, now: datetime) -> Span | None:
    """The time a request is about, or None when it names none."""
    lowered = text.lower()
    ranged = _RANGE.search(lowered)
    if ranged:
        a = _hour(ranged["ah"], ranged["am"], ranged["aap"] or ranged["bap"])
        b = _hour(ranged["bh"], ranged["bm"], ranged["bap"] or ranged["aap"])
        if a and b:
            start_ago, end_ago = _ago(now, *a), _ago(now, *b)
            if end_ago > start_ago:
                end_ago = max(0, end_ago - 1440)
            minutes = max(1, start_ago - end_ago)
            return Span(minutes=minutes, end_ago=end_ago, since=start_ago, phrase=ranged.group(0))
    clock = _SINCE_CLOCK.search(lowered)
    if clock:
        at = _hour(clock["ah"], clock["am"], clock["aap"])
        if at:
            ago = _ago(now, *at)
            return Span(minutes=ago, since=ago, phrase=clock.group(0))
    if re.search(r"\bsince yesterday\b", lowered):
        return Span(minutes=1440 + _since_midnight(now), since=1440, phrase="since yesterday")
    if re.search(r"\byesterday\b|\blast night\b", lowered):
        midnight = _since_midnight(now)
        return Span(minutes=1440, end_ago=midnight, since=1440, phrase="yesterday")
    if re.search(r"\b(?:today|so far today)\b", lowered):
        return Span(minutes=_since_midnight(now), since=_since_midnight(now), phrase="today")
    if re.search(r"\bthis morning\b", lowered):
        ago = _ago(now, 6, 0) if now.hour >= 6 else _since_midnight(now)
        return Span(minutes=ago, since=ago, phrase="this morning")
    if re.search(r"\bthis week\b", lowered):
        ago = _since_weekday(now, "monday")
        return Span(minutes=ago, since=ago, phrase="this week")
    day = _SINCE_DAY.search(lowered)
    if day:
        ago = _since_weekday(now, day["day"]) or 1440
        return Span(minutes=ago, since=ago, phrase=day.group(0))
    found = durations(lowered)
    if found:
        minutes, start, end = found[0]
        return Span(minutes=minutes, since=minutes, phrase=lowered[start:end])
    if re.search(r"\brecent(?:ly)?\b|\blately\b", lowered):
        return None
    return None
