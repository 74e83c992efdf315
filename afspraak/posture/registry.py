"""The list of posture checks ``afspraak security-audit`` runs, and running them (control N1)."""

from urllib.parse import urlsplit

from django.conf import settings

from afspraak.posture import configuration, database, host, operations, transport
from afspraak.posture.results import Check, Result, Target, failed

CHECKS: tuple[Check, ...] = (
    Check("listening-sockets", "Listening sockets", host.check_listening_sockets),
    Check("tls", "TLS of the served endpoint", transport.check_tls),
    Check("security-headers", "Security headers", transport.check_security_headers),
    Check("deploy-checks", "Django's deploy checks", configuration.check_deploy_checks),
    Check("debug-off", "DEBUG off", configuration.check_debug_off),
    Check("secret-key", "Secret key strength", configuration.check_secret_key),
    Check(
        "production-settings",
        "Settings production refuses",
        configuration.check_production_settings,
    ),
    Check("master-key-file", "Master key file permissions", host.check_master_key_file),
    Check("database-role", "Database role", database.check_database_role),
    Check("row-level-security", "Row-level security", database.check_row_level_security),
    Check("backups-fresh", "Backups fresh", operations.check_backups_fresh),
    Check("backup-retention", "Backup retention (D2)", operations.check_backup_retention),
    Check("restore-drill", "Last restore drill", operations.check_restore_drill),
    Check("staff-mfa", "Staff MFA coverage", operations.check_staff_mfa),
    Check("pentest", "Penetration test in the last 12 months", operations.check_recent_pentest),
    Check("nftables", "nftables ruleset", host.check_nftables),
)


def parse_endpoint(value: str) -> tuple[str, int]:
    """Split HOST:PORT (IPv6 in brackets) into host and port."""
    address, colon, port = value.rpartition(":")
    if not colon or not port.isdigit() or not 0 < int(port) < 65536 or not address:
        raise ValueError(f"endpoint must be HOST:PORT, not {value!r}")
    return address.strip("[]"), int(port)


def target_from_settings(endpoint: str = "", processes: tuple[int, ...] = ()) -> Target:
    """Return the target of the settings: the site URL's host, reached at the audit endpoint."""
    site = urlsplit(settings.SITE_URL)
    server_name = site.hostname or "localhost"
    host, port = parse_endpoint(
        endpoint or settings.AFSPRAAK_AUDIT_ENDPOINT or f"{server_name}:{site.port or 443}"
    )
    return Target(
        host=host,
        port=port,
        server_name=server_name,
        ca_file=settings.AFSPRAAK_AUDIT_CA_FILE,
        production=settings.IS_PRODUCTION,
        processes=processes,
    )


def run_check(check: Check, target: Target) -> Result:
    """Run one check; a check that crashes counts as failed (fail closed), with the error."""
    try:
        return check.run(target)
    except Exception as error:
        return failed(f"the check itself failed: {type(error).__name__}: {error}")


def run_audit(target: Target) -> list[tuple[Check, Result]]:
    """Run every check against ``target``, in the order of ``CHECKS``."""
    return [(check, run_check(check, target)) for check in CHECKS]
