"""Links that open a booking in an online calendar's "new event" form (Google, Outlook.com).

Both calendars take the event in the link's query string; nothing is sent to them until
the invitee follows the link and saves the event there.
"""

from datetime import UTC, datetime
from urllib.parse import urlencode

GOOGLE_CALENDAR = "https://calendar.google.com/calendar/render"
OUTLOOK_CALENDAR = "https://outlook.live.com/calendar/0/deeplink/compose"


def google_calendar_url(
    *, title: str, start: datetime, end: datetime, details: str, location: str
) -> str:
    """Return the link that opens Google Calendar's form for this event."""
    stamp = "%Y%m%dT%H%M%SZ"
    dates = f"{start.astimezone(UTC):{stamp}}/{end.astimezone(UTC):{stamp}}"
    query = {
        "action": "TEMPLATE",
        "text": title,
        "dates": dates,
        "details": details,
        "location": location,
    }
    return f"{GOOGLE_CALENDAR}?{urlencode(query)}"


def outlook_calendar_url(
    *, title: str, start: datetime, end: datetime, details: str, location: str
) -> str:
    """Return the link that opens Outlook.com's form for this event."""
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    query = {
        "path": "/calendar/action/compose",
        "rru": "addevent",
        "subject": title,
        "startdt": f"{start.astimezone(UTC):{stamp}}",
        "enddt": f"{end.astimezone(UTC):{stamp}}",
        "body": details,
        "location": location,
    }
    return f"{OUTLOOK_CALENDAR}?{urlencode(query)}"
