"""Every audit action code, with what it means: ``record`` refuses a code not listed here.

Codes are dotted, ``<app>.<object>.<what happened>``. A new write path adds its code
here, so this page stays the complete list an auditor or a detection rule reads.
"""

ACTIONS: dict[str, str] = {
    # audit: detection, alerts and incidents (docs/security/detection.md)
    "audit.alert.raised": "A detection rule fired and opened an alert.",
    "audit.alert.grouped": "A detection rule fired again; its events joined the open alert.",
    "audit.alert.escalated": "An alert passed its review deadline unreviewed and was escalated.",
    "audit.alert.acknowledged": "A reviewer acknowledged an alert.",
    "audit.alert.closed": "A reviewer closed an alert with a reason.",
    "audit.incident.declared": "A reviewer declared an incident from an alert.",
    "audit.incident.updated": "An incident's status, owner or timeline changed.",
    "security.containment.api_tokens_revoked": "A reviewer revoked a member's API tokens "
    "from an incident.",
    "security.containment.sessions_ended": "A reviewer ended an account's sessions from an "
    "incident.",
    "security.member.suspended": "A reviewer suspended a member of an organization from an "
    "incident.",
    "security.member.suspension_lifted": "A reviewer lifted a member's suspension.",
    "security.keys.rotation_requested": "A reviewer had an organization's keys rotated from an "
    "incident.",
    "security.console.refused": "Someone not staff with a second factor was refused the "
    "security console, or a reviewer a containment action without a recent re-authentication.",
    # accounts
    "accounts.user.signed_up": "A person created an account.",
    "accounts.login.succeeded": "A user logged in.",
    "accounts.login.failed": "A login attempt failed.",
    "accounts.login.locked_out": "An account was locked after repeated failed logins.",
    "accounts.login.throttled": "Logins from one address were throttled.",
    "accounts.logout": "A user logged out.",
    "accounts.reauthenticated": "A user confirmed their identity again before a sensitive step.",
    "accounts.password.changed": "A user changed their password.",
    "accounts.password.set": "A password was set.",
    "accounts.password.reset": "A password was reset through the e-mailed link.",
    "accounts.password.change_failed": "A password change was refused.",
    "accounts.email.confirmed": "A user confirmed an e-mail address.",
    "accounts.mfa.added": "A second factor was added.",
    "accounts.mfa.removed": "A second factor was removed.",
    "accounts.mfa.recovery_codes_regenerated": "New recovery codes replaced the old ones.",
    "accounts.mfa.recovery_code_used": "A recovery code was used to log in.",
    "accounts.mfa.used": "A second factor was used to log in.",
    "accounts.mfa.failed": "A second-factor code was wrong.",
    "accounts.mfa.secret_rejected": "A stored second-factor secret did not belong to its user.",
    "accounts.mfa.enrolment_required": "A user was sent to enrol a second factor first.",
    "accounts.session.expired": "A session passed its lifetime and was ended.",
    "accounts.session.ended": "A user ended one of their sessions.",
    "accounts.profile.updated": "A user changed their profile (the name others see).",
    "accounts.avatar.changed": "A user set or replaced their picture.",
    "accounts.avatar.removed": "A user removed their picture.",
    # crypto
    "crypto.failure": "A cryptographic operation failed.",
    "crypto.master_key.unavailable": "The master key could not be loaded.",
    "crypto.keyset.missing": "An organization's keyset was missing.",
    "crypto.decryption.failed": "Stored ciphertext failed to decrypt (tampered or misplaced).",
    "crypto.master_key.rotated": "The master key was rotated (keysets rewrapped).",
    "crypto.master_key.retired": "An old master key was retired.",
    "crypto.org_keysets.created": "An organization's data and index keysets were created.",
    "crypto.org_key.rotation_started": "Rotation of an organization's data key began.",
    "crypto.org_key.rotated": "An organization's data key was rotated and its rows re-sealed.",
    "crypto.org_index_key.rotation_started": "Rotation of an organization's index key began.",
    "crypto.org_index_key.rotated": "An organization's blind-index key was rotated.",
    # tenancy
    "tenancy.access.denied": "An actor was refused access to an organization or an action.",
    "tenancy.organization.created": "An organization was created.",
    "tenancy.organization.deleted": "An organization and its data were deleted.",
    "tenancy.organization.demo_owner_reset": "The demo organization's owner was reset.",
    "tenancy.security.updated": "An organization's security settings changed.",
    "tenancy.member.role_changed": "A member's role changed.",
    "tenancy.audit_log.exported": "Someone exported the organization's audit log (CSV or JSON).",
    "tenancy.member.removed": "A member was removed.",
    "tenancy.member.left": "A member left the organization.",
    "tenancy.embedding.updated": "The sites allowed to frame the booking pages changed.",
    "tenancy.branding.updated": "The organization's accent colour or logo changed.",
    "tenancy.api_token.created": "A member made an API token.",
    "tenancy.api_token.revoked": "An API token was revoked.",
    "tenancy.api_token.refused": "An API token was refused (unknown, revoked or expired).",
    "tenancy.invitation.created": "Someone was invited to join.",
    "tenancy.invitation.revoked": "An invitation was withdrawn.",
    "tenancy.invitation.accepted": "An invitation was accepted.",
    "tenancy.invitation.declined": "The invited person declined an invitation.",
    "tenancy.invitation.refused": "An invitation link was refused (expired, used, wrong person).",
    "tenancy.offboarding.sessions_ended": "A person's sessions were ended by offboarding.",
    "tenancy.offboarding.user_deactivated": "A user account was deactivated.",
    # compliance
    "compliance.staff_page.refused": "A staff page was refused to a password-only session.",
    "compliance.agreement.recorded": "A staff confidentiality agreement was recorded.",
    "compliance.policy.published": "A new security policy version was published.",
    "compliance.policy.acknowledged": "A staff member acknowledged the current security policy.",
    "compliance.training.recorded": "A staff member's security and privacy training was recorded.",
    "compliance.training.reminder_queued": "A reminder that a staff training expires was queued.",
    "compliance.disciplinary_note.recorded": "A staff member's non-compliance was noted.",
    "compliance.disciplinary_note.read": "A security reviewer read a staff member's notes.",
    "compliance.disciplinary_note.erased": "A disciplinary note was erased at the end of its "
    "retention period.",
    "compliance.support.requested": "A staff member asked for support access to the organization.",
    "compliance.support.approved": "Support access for a staff member was approved.",
    "compliance.support.denied": "Support access for a staff member was refused.",
    "compliance.support.revoked": "A staff member's support access was revoked.",
    "compliance.support.approver_changed": "Who approves staff support access changed.",
    "compliance.support.page_viewed": "A staff member opened a page through support access.",
    "compliance.subprocessor.added": "A subprocessor was added to the register; subscribers "
    "were notified.",
    "compliance.subprocessor.subscribed": "An owner subscribed to notices of new subprocessors.",
    "compliance.subprocessor.unsubscribed": "An owner unsubscribed from subprocessor notices.",
    "compliance.pentest.recorded": "A penetration test was recorded.",
    "compliance.pentest.finding_recorded": "A penetration-test finding was recorded.",
    "compliance.pentest.finding_resolved": "A penetration-test finding was resolved.",
    "compliance.disclosure.received": "A vulnerability report arrived (stored sealed).",
    "compliance.disclosure.viewed": "A staff member read a vulnerability report.",
    "compliance.disclosure.attachment_downloaded": "A staff member downloaded a vulnerability "
    "report's attachment.",
    "compliance.disclosure.state_changed": "A vulnerability report moved to another triage state.",
    "compliance.access_review.opened": "An access review campaign opened.",
    "compliance.access_review.confirmed": "A reviewer confirmed an access under review.",
    "compliance.access_review.revoked": "A reviewer revoked an access under review.",
    "compliance.access_review.completed": "An access review campaign was completed and its "
    "report sealed.",
    # scheduling
    "scheduling.schedule.created": "A schedule was created.",
    "scheduling.schedule.updated": "A schedule's hours changed.",
    "scheduling.schedule.deleted": "A schedule was deleted.",
    "scheduling.schedule.override_set": "A date override was set on a schedule.",
    "scheduling.schedule.override_removed": "A date override was removed.",
    "scheduling.meeting_type.created": "A meeting type was created.",
    "scheduling.meeting_type.updated": "A meeting type was changed.",
    "scheduling.meeting_type.disabled": "A meeting type with bookings was disabled.",
    "scheduling.meeting_type.deleted": "A meeting type without bookings was deleted.",
    # bookings
    "bookings.booking.created": "An invitee booked a meeting.",
    "bookings.booking.rescheduled": "A booking was moved to another time.",
    "bookings.booking.reschedule_requested": "A host asked the invitee to choose another time.",
    "bookings.booking.cancelled": "A booking was cancelled.",
    "bookings.booking.approved": "A host approved a pending booking.",
    "bookings.booking.declined": "A host declined a pending booking.",
    "bookings.invitee.erased": "An invitee's personal data was erased at their request.",
    # backups
    "backups.backup.completed": "An encrypted backup was written to every backup location.",
    "backups.backup.failed": "A backup run failed; nothing of it is listed.",
    "backups.backup.pruned": "Backups older than the retention were deleted in every location.",
    "backups.prune.failed": "Old backups could not be deleted in a backup location.",
    "backups.restore.completed": "A backup was restored into a new database file.",
    "backups.restore.failed": "A restore was refused (tampered, truncated, newer schema …).",
    "backups.drill.passed": (
        "A restore drill restored the newest backup of every location and checked it."
    ),
    "backups.drill.failed": (
        "A restore drill failed: a backup location's newest backup did not restore or check out."
    ),
    "backups.deletion.certified": (
        "Deletions were certified permanent: no backup that could hold their data remains."
    ),
    # posture: the daily security audit (docs/runbooks/security-audit.md)
    "posture.audit.completed": "The daily security audit ran; its data lists the checks "
    "that passed and failed.",
    "posture.audit.regressed": "A security audit check that passed in the previous run fails now.",
}


class UncataloguedActionError(ValueError):
    """An audit event was recorded with a code this catalogue does not list."""


def require_catalogued(action: str) -> None:
    """Refuse ``action`` unless the catalogue lists it."""
    if action not in ACTIONS:
        raise UncataloguedActionError(
            f"audit action {action!r} is not in afspraak/audit/catalogue.py: add it there"
        )
