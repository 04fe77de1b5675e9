"""Day bounds in the active time zone (the user's, set by the time-zone middleware), for date
filters over datetime columns: a range to `day` ends where the next day starts."""

import datetime

from django.utils import timezone


def day_start(day: datetime.date) -> datetime.datetime:
    """Midnight at the start of `day` in the active time zone."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def day_end(day: datetime.date) -> datetime.datetime | None:
    """The start of the next day: the open end of a range to `day`; None past the calendar."""
    if day >= datetime.date.max:
        return None
    return day_start(day + datetime.timedelta(days=1))
