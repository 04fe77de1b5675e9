"""What each role may do. Pages and actions name a permission; roles grant sets of them."""

from enum import StrEnum

from accounts.models import Membership, Role


class Perm(StrEnum):
    VIEW_DOCUMENTS = "view_documents"
    EDIT_DOCUMENTS = "edit_documents"
    APPROVE_DOCUMENTS = "approve_documents"
    PAY_DOCUMENTS = "pay_documents"
    # Push again (re-sync, bulk re-sync): never changes business data and never doubles an
    # entry, so everyone who works on documents may do it.
    RESYNC = "resync"
    # Retry the failed items of a run or a Requires-attention group: a push of many documents at
    # once, chosen by their failure rather than by the user, so it is left to those who diagnose
    # failures (support, admin), as the README's Roles table says.
    RETRY_FAILED = "retry_failed"
    VIEW_SYNC_HISTORY = "view_sync_history"
    UPDATE_SYNC_STATUS = "update_sync_status"
    VIEW_SYNC_HEALTH = "view_sync_health"
    VIEW_EVENT_LOG = "view_event_log"
    MANAGE_INTEGRATIONS = "manage_integrations"


ROLE_PERMISSIONS: dict[str, frozenset[Perm]] = {
    Role.ADMIN: frozenset(Perm),
    Role.AP_CLERK: frozenset(
        {
            Perm.VIEW_DOCUMENTS,
            Perm.EDIT_DOCUMENTS,
            Perm.APPROVE_DOCUMENTS,
            Perm.PAY_DOCUMENTS,
            Perm.RESYNC,
            Perm.VIEW_EVENT_LOG,
        }
    ),
    Role.ACCOUNTING_SYNC: frozenset(
        {
            Perm.VIEW_DOCUMENTS,
            Perm.RESYNC,
            Perm.VIEW_SYNC_HISTORY,
            Perm.UPDATE_SYNC_STATUS,
            Perm.VIEW_SYNC_HEALTH,
            Perm.VIEW_EVENT_LOG,
        }
    ),
    # Support agents diagnose: they read what the customer sees and may push again (one document
    # or the failed items), and change no document and no sync status.
    Role.SUPPORT: frozenset(
        {
            Perm.VIEW_DOCUMENTS,
            Perm.RESYNC,
            Perm.RETRY_FAILED,
            Perm.VIEW_SYNC_HEALTH,
            Perm.VIEW_EVENT_LOG,
        }
    ),
}


def membership_has_perm(membership: Membership | None, perm: Perm) -> bool:
    if membership is None:
        return False
    return perm in ROLE_PERMISSIONS.get(membership.role, frozenset())
