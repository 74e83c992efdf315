from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "afspraak.tenancy"
    label = "tenancy"

    def ready(self) -> None:
        from afspraak.accounts.policies import register_context_words, register_mfa_requirement
        from afspraak.crypto.tenants import provide_tenant_context
        from afspraak.tenancy import invitations, receivers  # noqa: F401  (receivers, outbox)
        from afspraak.tenancy.access import memberships_of, organizations_require_mfa
        from afspraak.tenancy.context import organization_context
        from afspraak.tenancy.rls import ORGANIZATION_SETTING

        # The lower layers cannot import tenancy; it hands them what they need to know.
        provide_tenant_context(organization_context, setting=ORGANIZATION_SETTING)
        register_mfa_requirement("organizations", organizations_require_mfa)
        # A password built on the name of one of the user's organizations is easy to guess.
        register_context_words(
            "organization_names",
            lambda user: [m.organization.name for m in memberships_of(user)],
        )
