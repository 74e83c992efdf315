"""The one error of the input parsers."""


class InputRefusedError(ValueError):
    """Input the parsers will not take; the message says why, in plain words."""
