"""Serializers shared by every API endpoint's documented responses."""

from rest_framework import serializers


class DetailSerializer(serializers.Serializer):
    """The body of an error or a plain confirmation: ``{"detail": "..."}``."""

    detail = serializers.CharField()
