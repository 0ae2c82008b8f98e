"""Dates the rights run on: the legal month for a subject access request, years of retention."""

from __future__ import annotations

import calendar
from datetime import date, timedelta


def one_month_after(received_on: date) -> date:
    """The day a subject access request must be answered by (UK ICO guidance): the same date
    in the next calendar month, or that month's last day when it has no such date (31 January
    -> 28 or 29 February); a Saturday or Sunday moves to the Monday after. Bank holidays are
    not known here: a DPO answering near one should count them in."""
    year, month = (
        (received_on.year + 1, 1)
        if received_on.month == 12
        else (
            received_on.year,
            received_on.month + 1,
        )
    )
    day = min(received_on.day, calendar.monthrange(year, month)[1])
    due = date(year, month, day)
    while due.weekday() >= 5:
        due += timedelta(days=1)
    return due


def years_after(day: date, years: int) -> date:
    """The same date `years` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)
