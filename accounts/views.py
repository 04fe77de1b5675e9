from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts.middleware import SESSION_ORG_KEY
from accounts.models import Membership


@login_required
@require_POST
def organization_switch(request):
    membership = (
        Membership.objects.filter(user=request.user, org_id=request.POST.get("org_id"))
        .select_related("org")
        .first()
    )
    if membership is None:
        messages.error(request, "You are not a member of that organisation.")
    else:
        request.session[SESSION_ORG_KEY] = membership.org_id
        messages.success(request, f"You are now working in {membership.org.name}.")
    # Always land on the list: the page the user came from belongs to the other organisation.
    return redirect("documents:list")
