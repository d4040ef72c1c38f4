"""Decoding literal text (strings, numbers, timespans, datetimes) shared by both parsers."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "0": "\0",
            "a": "\a", "b": "\b", "f": "\f", "v": "\v", "/": "/"}


def kql_string(text: str) -> str:
    """Decode a KQL string token: '...', "..." with backslash escapes, @'...' verbatim."""
    if text[:1] in "hH" and len(text) > 1 and text[1] in "@'\"":
        text = text[1:]  # h'...' obfuscated strings are plain strings here
    if text.startswith("@"):
        quote = text[1]
        return text_value(text[2:-1].replace(quote * 2, quote))
    body = text[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2:i + 6]):
            out.append(chr(int(body[i + 2:i + 6], 16)))
            i += 6
        elif nxt == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", body[i + 2:i + 4]):
            out.append(chr(int(body[i + 2:i + 4], 16)))
            i += 4
        else:
            raise ValueError(f"unknown escape sequence '\\{nxt}' in string")
    return text_value("".join(out))


_SURROGATE = re.compile("[\ud800-\udfff]")


def text_value(value: str) -> str:
    """A decoded string literal as the text it stands for: a surrogate pair written as two
    escapes ('\\ud83d\\ude00') is one character. Raises ValueError for what no stored text
    holds and DuckDB cannot take as a parameter: NUL (U+0000, which trackstore refuses in
    every text field) and a lone surrogate (not Unicode text)."""
    if "\0" in value:
        raise ValueError("a string must not contain the NUL character (U+0000)")
    if _SURROGATE.search(value):
        try:
            value = value.encode("utf-16", "surrogatepass").decode("utf-16")
        except UnicodeDecodeError:
            raise ValueError("a string must not contain a lone surrogate (\\ud800 to "
                             "\\udfff without its pair)") from None
    return value


def number(text: str) -> int | float:
    if re.fullmatch(r"-?[0-9]+", text):
        return int(text)
    return float(text)


_UNITS = [
    (r"days?|d", timedelta(days=1)),
    (r"hours?|hrs?|h", timedelta(hours=1)),
    (r"minutes?|min|m", timedelta(minutes=1)),
    (r"seconds?|sec|s", timedelta(seconds=1)),
    (r"milliseconds?|ms", timedelta(milliseconds=1)),
    (r"microseconds?", timedelta(microseconds=1)),
    (r"ticks?", timedelta(microseconds=0.1)),
]
_TIMESPAN_RE = re.compile(r"([0-9]+(?:\.[0-9]+)?)([a-z]+)")


def timespan_token(text: str) -> timedelta:
    m = _TIMESPAN_RE.fullmatch(text)
    if not m:
        raise ValueError(f"'{text}' is not a timespan")
    amount, unit = m.groups()
    for pattern, size in _UNITS:
        if re.fullmatch(pattern, unit):
            if unit.startswith("tick"):
                return timedelta(microseconds=round(float(amount) / 10))
            return size * float(amount) if "." in amount else size * int(amount)
    raise ValueError(f"unknown timespan unit '{unit}'")


_CLOCK_RE = re.compile(
    r"(-)?(?:([0-9]+)\.)?([0-9]{1,2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,7}))?)?"
)


def timespan_text(text: str) -> timedelta | None:
    """The inside of time(...)/timespan(...): '1.02:03:04.5', '02:00', '2h', '3' (days), 'null'."""
    text = text.strip()
    if text == "null":
        return None
    if re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text):
        return timedelta(days=float(text))
    m = _CLOCK_RE.fullmatch(text)
    if m:
        neg, days, hours, minutes, seconds, frac = m.groups()
        micros = round(int((frac or "0").ljust(7, "0")) / 10)
        value = timedelta(days=int(days or 0), hours=int(hours), minutes=int(minutes),
                          seconds=int(seconds or 0), microseconds=micros)
        return -value if neg else value
    neg = text.startswith("-")
    value = timespan_token(text.lstrip("-").replace(" ", ""))
    return -value if neg else value


_DATETIME_RE = re.compile(
    r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"
    r"(?:[T ]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,9}))?)?)?"
    r"\s*(Z|[+-][0-9]{2}:?[0-9]{2})?"
)


_US_DATETIME_RE = re.compile(
    r"([0-9]{1,2})[/-]([0-9]{1,2})[/-]([0-9]{4})(?:[ T]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?)?")


def datetime_text(text: str) -> datetime | None:
    """ISO 8601 text (date, optional time, optional Z or offset) as a naive UTC datetime."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1].strip()  # datetime("2019-01-01") is allowed too
    if text == "null":
        return None
    us = _US_DATETIME_RE.fullmatch(text)
    if us:  # MM/dd/yyyy[ HH:mm[:ss]] (or with dashes), which Kusto reads too
        mo, d, y, h, mi, sec = us.groups()
        return datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(sec or 0))
    m = _DATETIME_RE.fullmatch(text)
    if not m:
        raise ValueError(f"'{text}' is not a datetime (expected e.g. 2019-01-01T10:20:30Z)")
    y, mo, d, h, mi, s, frac, tz = m.groups()
    micros = int((frac or "0")[:6].ljust(6, "0"))
    value = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), micros)
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        value = (value - sign * offset)
    return value.replace(tzinfo=None)


def as_naive_utc(value: datetime) -> datetime:
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value
