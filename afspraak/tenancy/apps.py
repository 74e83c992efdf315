from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "afspraak.tenancy"
    label = "tenancy"

    def ready(self) -> None:
        from afspraak.crypto.tenants import provide_tenant_context
        from afspraak.tenancy import receivers  # noqa: F401  (connects the login receiver)
        from afspraak.tenancy.context import organization_context
        from afspraak.tenancy.rls import ORGANIZATION_SETTING

        provide_tenant_context(organization_context, setting=ORGANIZATION_SETTING)
