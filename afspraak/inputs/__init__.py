"""Bounded parsing of untrusted input: JSON, whole numbers, calendar days and names.

The bottom layer: it imports nothing from the other afspraak apps, so every app (audit
included) may use it. Each parser refuses what the code after it could not hold (deep
JSON that would exhaust the stack, numbers too long to convert, days at the calendar's
end) with a message fit to show the person who typed it.
"""
