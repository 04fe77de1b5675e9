"""The connect link's page: the company's owner creates their admin sign-in (the link works
once), is signed in, and lands on Integrations to connect the ledger through its OAuth pages."""

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views import View

from accounts.middleware import SESSION_ORG_KEY
from partners import services
from partners.forms import OwnerForm


class ConnectLinkView(View):
    template_name = "partners/connect.html"

    def _gone(self, request):
        return render(request, self.template_name, {"gone": True}, status=410)

    def get(self, request, token):
        link = services.connect_link_open(token=token)
        if link is None:
            return self._gone(request)
        return render(request, self.template_name, {"org": link.org, "form": OwnerForm()})

    def post(self, request, token):
        link = services.connect_link_open(token=token)
        if link is None:
            return self._gone(request)
        form = OwnerForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                user, org = services.connect_link_redeem(
                    token=token,
                    username=data["username"],
                    email=data["email"],
                    password=data["password1"],
                )
            except ValidationError as error:
                if hasattr(error, "error_dict"):
                    for field, field_errors in error.message_dict.items():
                        form.add_error(field if field in form.fields else None, field_errors)
                else:
                    form.add_error("password1", error.messages)
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                request.session[SESSION_ORG_KEY] = org.pk
                messages.success(
                    request, f"Welcome to {org.name}. Connect your accounting system to start."
                )
                return redirect("integrations:list")
        return render(request, self.template_name, {"org": link.org, "form": form}, status=400)
