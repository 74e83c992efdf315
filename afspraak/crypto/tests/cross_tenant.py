"""Cross-tenant probes of the crypto models (collected by the tenancy tests)."""

PROBES = {
    "crypto.OrganizationKeyset": (
        "no URL, form or API takes a keyset's id: keysets are looked up by the organization "
        "id of the row being encrypted or decrypted, inside afspraak.crypto.keysets"
    ),
    "crypto.KeyRotation": (
        "no URL, form or API takes a rotation's id: only the `afspraak keys` command reads it"
    ),
}
