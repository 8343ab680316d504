"""Delegations: a reviewer lends their role to a deputy while away, and sees what was lent to them."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import services
from .forms import DelegationForm
from .models import Delegation


@login_required
def delegations(request):
    form = DelegationForm(request.POST if request.method == "POST" else None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            delegation = services.delegate(by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)  # each message to its field (a dict of them), or to the form
        else:
            messages.success(
                request,
                _("%(deputy)s acts for you as %(role)s from %(start)s to %(end)s.")
                % {
                    "deputy": delegation.deputy.printed_name,
                    "role": delegation.membership.get_role_display(),
                    "start": delegation.starts_on.isoformat(),
                    "end": delegation.ends_on.isoformat(),
                },
            )
            return redirect("delegations")
    mine = Delegation.objects.filter(Q(membership__user=request.user) | Q(deputy=request.user)).select_related(
        "membership__user", "membership__department", "deputy"
    )
    context = {
        "form": form,
        "given": [d for d in mine if d.membership.user_id == request.user.pk],
        "received": [d for d in mine if d.deputy_id == request.user.pk],
        "can_delegate": form.fields["membership"].queryset.exists(),
        "today": timezone.localdate(),
    }
    return render(request, "accounts/delegations.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def delegation_revoke(request, pk):
    mine = Q(membership__user=request.user) | Q(deputy=request.user)
    delegation = get_object_or_404(Delegation.objects.filter(mine).select_related("membership"), pk=pk)
    services.revoke_delegation(delegation=delegation, by=request.user)
    messages.success(request, _("The delegation is revoked."))
    return redirect("delegations")
