"""The production shape on one machine: the servers operators run, started on loopback."""
