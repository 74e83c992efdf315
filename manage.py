#!/usr/bin/env python3
"""Django's command-line utility for Afspraak (the same as the ``afspraak`` command)."""

from afspraak.cli import main

if __name__ == "__main__":
    main()
