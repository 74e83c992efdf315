from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "afspraak.compliance"
    label = "compliance"
    verbose_name = "Compliance"

    def ready(self) -> None:
        from afspraak.compliance import (
            records,  # noqa: F401  (daily job: notes past their retention)
            reminders,  # noqa: F401  (outbox handler, daily job)
            support_mail,  # noqa: F401  (outbox handlers)
        )
        from afspraak.compliance.standing import REFUSAL_MESSAGES, staff_gate, standing_refusal
        from afspraak.compliance.support import end_support_grants_of, support_access_source
        from afspraak.tenancy.access import register_access_source, register_gate
        from afspraak.tenancy.offboarding import register_deactivation_step
        from afspraak.tenancy.staff_standing import register_staff_standing

        # Tenancy cannot import compliance: it is handed the gate and the access source.
        register_gate("compliance.staff", staff_gate, REFUSAL_MESSAGES)
        register_access_source("compliance.support", support_access_source)
        # A deactivated staff member's support grants end with the account.
        register_deactivation_step("compliance.support", end_support_grants_of)
        # The staff pages without an organization (security console, disclosures) ask it too.
        register_staff_standing("compliance.standing", standing_refusal, REFUSAL_MESSAGES)
