"""``afspraak setup``: everything the embedded mode needs before it can serve."""

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from afspraak.crypto.keyring import create_master_keyset, load_master_keyset
from afspraak.scheduling.demo import create_demo_meeting_type
from afspraak.server.certificates import ensure_local_certificates, local_tls_files
from afspraak.tenancy.demo import create_demo_organization


class Command(BaseCommand):
    help = "Migrate the database, create keys and certificates when absent, and add demo data."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--no-demo", action="store_true", help="do not create demo data")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        keyset = settings.AFSPRAAK_MASTER_KEYSET_FILE
        if create_master_keyset(keyset):
            self.stdout.write(f"created master keyset {keyset} (mode 0600): back it up")
        load_master_keyset(keyset)
        tls_dir = settings.AFSPRAAK_TLS_DIR
        if ensure_local_certificates(tls_dir):
            self.stdout.write(f"created local CA and server certificate in {tls_dir}")
        if options["no_demo"]:
            return
        login = create_demo_organization(settings.VAR_DIR / "demo-login.txt")
        meeting_type = create_demo_meeting_type()
        organization_slug = meeting_type.organization.slug
        ca = local_tls_files(tls_dir).ca_cert
        self.stdout.write(
            self.style.SUCCESS("Demo organization ready.")
            + f"\n  Open:     {settings.SITE_URL}/ (trust the local CA: {ca})"
            + f"\n  E-mail:   {login.email}"
            + f"\n  Password: {login.password}"
            + f"\n  Book:     {settings.SITE_URL}/{organization_slug}/{meeting_type.slug}/"
        )
