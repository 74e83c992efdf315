"""Afspraak's REST API, version 1: JSON in, JSON out, errors as JSON with a 4xx status."""
