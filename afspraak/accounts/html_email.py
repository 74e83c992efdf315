"""The HTML part of every e-mail the site sends, in one design (``templates/email/message.html``).

An e-mail's wording lives in its text template; the HTML part is that text, paragraph by
paragraph, in the product's frame: the organization's logo and accent colour when the
mail is sent for one, Afspraak's otherwise, and one button for the mail's main link.
Deriving it from the text keeps the two parts saying the same thing. Mail clients have no
CSP, so the template uses inline style attributes; it loads no image but the
organization's own logo, from the site's address.

It lives in ``accounts`` (the lowest layer that sends e-mail to people) so that tenancy's
invitations and bookings' notices use it too; the organization is passed as an object,
read only by the template's branding tags.
"""

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

TEMPLATE = "email/message.html"


def paragraphs_of(text: str) -> list[str]:
    """Split a text body into its paragraphs (blocks between blank lines)."""
    return [part.strip() for part in text.split("\n\n") if part.strip()]


def render_html_part(
    text: str,
    *,
    title: str,
    organization: object = None,
    action_url: str = "",
    action_label: str = "",
) -> str:
    """Render the HTML part showing ``text`` under ``title``, branded for ``organization``."""
    return render_to_string(
        TEMPLATE,
        {
            "title": " ".join(title.split()),
            # An Organization (its branding) or nothing; the template tags check its type.
            "organization": organization or "",
            "paragraphs": paragraphs_of(text),
            "action_url": action_url,
            "action_label": action_label,
        },
    )


def attach_html_part(
    message: EmailMultiAlternatives,
    *,
    title: str,
    organization: object = None,
    action_url: str = "",
    action_label: str = "",
) -> None:
    """Give ``message`` the HTML part of its text body."""
    message.attach_alternative(
        render_html_part(
            str(message.body),
            title=title,
            organization=organization,
            action_url=action_url,
            action_label=action_label,
        ),
        "text/html",
    )
