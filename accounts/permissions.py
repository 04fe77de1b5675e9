"""What each role may do. Pages and actions name a permission; roles grant sets of them."""

from enum import StrEnum

from accounts.models import Membership, Role


class Perm(StrEnum):
    VIEW_DOCUMENTS = "view_documents"
    EDIT_DOCUMENTS = "edit_documents"
    APPROVE_DOCUMENTS = "approve_documents"
    PAY_DOCUMENTS = "pay_documents"
    VIEW_SYNC_HISTORY = "view_sync_history"
    MANAGE_INTEGRATIONS = "manage_integrations"


ROLE_PERMISSIONS: dict[str, frozenset[Perm]] = {
    Role.ADMIN: frozenset(Perm),
    Role.AP_CLERK: frozenset(
        {Perm.VIEW_DOCUMENTS, Perm.EDIT_DOCUMENTS, Perm.APPROVE_DOCUMENTS, Perm.PAY_DOCUMENTS}
    ),
    Role.ACCOUNTING_SYNC: frozenset({Perm.VIEW_DOCUMENTS, Perm.VIEW_SYNC_HISTORY}),
    # Support agents read what a customer sees in order to diagnose, and change nothing.
    Role.SUPPORT: frozenset({Perm.VIEW_DOCUMENTS}),
}


def membership_has_perm(membership: Membership | None, perm: Perm) -> bool:
    if membership is None:
        return False
    return perm in ROLE_PERMISSIONS.get(membership.role, frozenset())
