"""Notifications in the app: the list, marking read, and each person's choice of what reaches them how."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ..forms import NotificationSettingsForm
from ..models import NotificationSettings
from .params import id_param

PAGE_SIZE = 30


@login_required
def notification_list(request):
    notifications = request.user.notifications.select_related("document")
    page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "review/notifications.html", {"page": page})


@login_required
@require_POST
def notification_read(request):
    """Mark one notification read (and open its piece), or all of them when none is named."""
    unread = request.user.notifications.filter(read_at__isnull=True)
    if "id" in request.POST:
        one = id_param(request.POST["id"])
        notification = request.user.notifications.filter(pk=one).first() if one else None
        if notification is None:
            return HttpResponseBadRequest(_("No such notification of yours."))
        unread.filter(pk=notification.pk).update(read_at=timezone.now())
        return redirect(notification)
    unread.update(read_at=timezone.now())
    messages.success(request, _("All notifications marked read."))
    return redirect("review:notifications")


@login_required
def notification_settings(request):
    instance = NotificationSettings.objects.filter(user=request.user).first() or NotificationSettings(user=request.user)
    form = NotificationSettingsForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your notification settings are saved."))
        return redirect("review:notification_settings")
    return render(request, "review/notification_settings.html", {"form": form}, status=400 if form.errors else 200)
