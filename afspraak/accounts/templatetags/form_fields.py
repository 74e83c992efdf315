"""Template tags that render a form field with its label, help and errors tied to it."""

from django import template
from django.forms import BoundField
from django.utils.safestring import SafeString

register = template.Library()


def error_id(field: BoundField) -> str:
    """Return the id of the element listing ``field``'s errors."""
    return f"{field.auto_id}-error"


def help_id(field: BoundField) -> str:
    """Return the id of the element holding ``field``'s help text."""
    return f"{field.auto_id}_helptext"


@register.filter
def described_widget(field: BoundField) -> SafeString:
    """Render the field's input described by its help and error elements (screen readers)."""
    described_by = [help_id(field)] if field.help_text else []
    if field.errors:
        described_by.append(error_id(field))
    attrs: dict[str, str | bool] = (
        {"aria-describedby": " ".join(described_by)} if described_by else {}
    )
    return field.as_widget(attrs=attrs)


@register.filter
def field_error_id(field: BoundField) -> str:
    """Return the id the template gives the field's error list."""
    return error_id(field)


@register.filter
def field_help_id(field: BoundField) -> str:
    """Return the id the template gives the field's help text."""
    return help_id(field)


@register.filter
def is_checkbox(field: BoundField) -> bool:
    """Tell whether the field is a checkbox (its label goes after the box)."""
    return bool(field.widget_type == "checkbox")
