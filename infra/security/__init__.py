"""Local security material and the broker's access policy, derived from the registry.

- ``pki``: a local certificate authority and the broker's TLS certificate.
- ``secrets``: one SCRAM password per principal, generated on first use, owner-only files.
- ``principals`` / ``acl``: who exists and what each may do, from ``infra/registry.toml``.
- ``apply``: make the real broker's SCRAM users and ACLs match (idempotent, removes extras).
"""
