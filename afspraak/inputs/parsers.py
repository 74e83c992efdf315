"""The API's only request parser: JSON through the bounded loader (set in REST_FRAMEWORK)."""

from collections.abc import Mapping
from typing import IO, Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from afspraak.inputs.errors import InputRefusedError
from afspraak.inputs.jsontext import MAX_JSON_BYTES, load_json


class BoundedJSONParser(JSONParser):
    """Parse a JSON body of at most MAX_JSON_BYTES and MAX_JSON_DEPTH levels, else answer 400."""

    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        # One byte more than allowed tells an oversized body without reading all of it.
        body = stream.read(MAX_JSON_BYTES + 1)
        try:
            return load_json(body)
        except InputRefusedError as refusal:
            raise ParseError(f"JSON parse error - {refusal}") from None
