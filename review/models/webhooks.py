import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _


def webhook_secret() -> str:
    """Return a new random secret for signing a webhook's deliveries."""
    return secrets.token_hex(32)


class Webhook(models.Model):
    """An address told of events on pieces; each delivery is signed with the webhook's secret."""

    class Event(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        APPROVED = "approved", _("Approved at a stage")
        RETURNED = "returned", _("Returned for changes")
        REJECTED = "rejected", _("Rejected")
        PUBLISHED = "published", _("Published")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        OVERDUE = "overdue", _("A stage is overdue")
        ESCALATED = "escalated", _("An overdue stage was escalated")

    url = models.URLField(_("URL"), max_length=500, help_text=_("Deliveries are POSTed here as JSON."))
    events = models.JSONField(_("events"), default=list, help_text=_("The events this address is told of."))
    secret = models.CharField(
        _("secret"),
        max_length=128,
        default=webhook_secret,
        help_text=_("Signs every delivery (HMAC-SHA256); give it to the receiver so it can check the signature."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["url", "pk"]
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")

    def __str__(self):
        return self.url


class WebhookDelivery(models.Model):
    """One attempt to deliver one event to one webhook, and how the receiver answered."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("webhook"))
    delivery = models.UUIDField(
        _("delivery id"),
        db_index=True,
        help_text=_("The same for every attempt at one event, so receivers can ignore repeats."),
    )
    event = models.CharField(_("event"), max_length=32, choices=Webhook.Event.choices)
    payload = models.JSONField(_("payload"))
    attempt = models.PositiveSmallIntegerField(_("attempt"))
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")

    def __str__(self):
        return f"{self.webhook} · {self.get_event_display()} · #{self.attempt}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
