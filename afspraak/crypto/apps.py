from django.apps import AppConfig
from django.core import checks


class CryptoConfig(AppConfig):
    name = "afspraak.crypto"
    label = "crypto"

    def ready(self) -> None:
        from huey.contrib.djhuey import HUEY
        from huey.signals import SIGNAL_ERROR

        from afspraak.audit.chain import provide_chain_key
        from afspraak.audit.pseudonyms import provide_pseudonymiser
        from afspraak.crypto.audit_keys import chain_key, source_pseudonym
        from afspraak.crypto.checks import check_master_key
        from afspraak.crypto.fields import check_encrypted_models
        from afspraak.crypto.reporting import report_job_failure

        checks.register(check_master_key, checks.Tags.security)
        checks.register(check_encrypted_models, checks.Tags.models)
        HUEY.signal(SIGNAL_ERROR)(report_job_failure)
        provide_chain_key(chain_key)
        provide_pseudonymiser(source_pseudonym)
