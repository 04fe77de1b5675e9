from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from accounts.permissions import Perm, membership_has_perm

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class OrgPermissionRequiredMixin:
    """Gate a view on a permission in the current organisation.

    A page the user may not see sends them to sign-in (as another user); an action they may not take
    (any unsafe method) answers 403.
    """

    permission: Perm

    def dispatch(self, request, *args, **kwargs):
        if not membership_has_perm(request.membership, self.permission):
            if request.method in SAFE_METHODS:
                return redirect_to_login(request.get_full_path())
            raise PermissionDenied("Your role in this organisation does not allow this action.")
        return super().dispatch(request, *args, **kwargs)
