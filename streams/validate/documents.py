"""Minimum security marking per MG form: the policy behind DOCUMENT_SENSITIVITY_TOO_LOW.

MG3/MG3A carry legal advice, MG6 is confidential information for the prosecutor, MG6D lists
sensitive unused material and MG6E is the disclosure officer's report on it: each must be
marked at least OFFICIAL-SENSITIVE. Every other form may be OFFICIAL.
"""

from __future__ import annotations

from types import MappingProxyType

from schemas.models import MgForm, Sensitivity

SENSITIVITY_RANK = MappingProxyType(
    {Sensitivity.OFFICIAL: 0, Sensitivity.OFFICIAL_SENSITIVE: 1, Sensitivity.SECRET: 2}
)

MINIMUM_SENSITIVITY = MappingProxyType(
    {
        MgForm.MG3: Sensitivity.OFFICIAL_SENSITIVE,
        MgForm.MG3A: Sensitivity.OFFICIAL_SENSITIVE,
        MgForm.MG6: Sensitivity.OFFICIAL_SENSITIVE,
        MgForm.MG6D: Sensitivity.OFFICIAL_SENSITIVE,
        MgForm.MG6E: Sensitivity.OFFICIAL_SENSITIVE,
    }
)


def minimum_sensitivity(form: MgForm) -> Sensitivity:
    return MINIMUM_SENSITIVITY.get(form, Sensitivity.OFFICIAL)
