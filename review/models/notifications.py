"""Telling people: notifications in the app, by email and in group chats (WeCom, DingTalk, Feishu robots), each
person's choice of what reaches them how, and every attempt at a delivery (retried, visible to administrators)."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Department

from .documents import Document


class Event(models.TextChoices):
    """What a notification is about."""

    AWAITING = "awaiting", _("A piece reached my stage")
    PASSED = "passed", _("My piece passed a stage")
    APPROVED = "approved", _("A piece was approved")
    RETURNED = "returned", _("A piece was returned for changes")
    REJECTED = "rejected", _("A piece was rejected")
    WITHDRAWN = "withdrawn", _("A piece was withdrawn")
    PUBLISHED = "published", _("A piece was published")
    DUE_SOON = "due_soon", _("My stage is due soon")
    OVERDUE = "overdue", _("My stage is overdue")
    ESCALATED = "escalated", _("A stage I oversee is overdue")
    ASSIGNED = "assigned", _("A piece was assigned to me")


class Channel(models.TextChoices):
    APP = "app", _("In the app")
    EMAIL = "email", _("Email")


class Notification(models.Model):
    """One thing one person is told, in the app (and by email if they chose so). The text is made when shown,
    in the reader's language, from what happened."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("recipient")
    )
    event = models.CharField(_("event"), max_length=20, choices=Event.choices)
    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("piece")
    )
    actor_name = models.CharField(_("by"), max_length=150, blank=True)
    stage = models.CharField(_("stage"), max_length=50, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self):
        return self.message

    def get_absolute_url(self) -> str:
        # Straight to the piece's action panel: on a phone, the link opens where the approval form is.
        return reverse("review:document", args=[self.document_id]) + "#actions"

    @property
    def message(self) -> str:
        """What happened, in the active language."""
        stage = gettext(self.stage) if self.stage else ""
        return MESSAGES[self.event] % {"title": self.document.title, "stage": stage, "by": self.actor_name}


MESSAGES = {
    Event.AWAITING: _("“%(title)s” is waiting for your %(stage)s."),
    Event.PASSED: _("“%(title)s” passed %(stage)s (%(by)s)."),
    Event.APPROVED: _("“%(title)s” is approved and may be published."),
    Event.RETURNED: _("“%(title)s” was returned for changes at %(stage)s by %(by)s."),
    Event.REJECTED: _("“%(title)s” was rejected at %(stage)s by %(by)s."),
    Event.WITHDRAWN: _("“%(title)s” was withdrawn by %(by)s."),
    Event.PUBLISHED: _("“%(title)s” was published by %(by)s."),
    Event.DUE_SOON: _("“%(title)s” is due soon at your %(stage)s."),
    Event.OVERDUE: _("“%(title)s” is overdue at your %(stage)s."),
    Event.ESCALATED: _("“%(title)s” is overdue at %(stage)s: please see that it moves on."),
    Event.ASSIGNED: _("“%(title)s” was assigned to you at %(stage)s by %(by)s."),
}


def every_event() -> list[str]:
    return list(Event.values)


class NotificationSettings(models.Model):
    """What reaches one person, and how: by default everything in the app and by email, in Chinese."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_settings",
        verbose_name=_("user"),
    )
    app_events = models.JSONField(_("in the app"), default=every_event)
    email_events = models.JSONField(_("by email"), default=every_event)
    language = models.CharField(
        _("language of emails"), max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )

    class Meta:
        verbose_name = _("notification settings")
        verbose_name_plural = _("notification settings")

    def __str__(self):
        return str(self.user)

    def wants(self, event: str, channel: str) -> bool:
        return event in (self.app_events if channel == Channel.APP else self.email_events)


class Robot(models.Model):
    """A group chat's robot (群机器人) told of events, for one department or the whole organisation."""

    class Kind(models.TextChoices):
        WECOM = "wecom", _("WeCom (企业微信)")
        DINGTALK = "dingtalk", _("DingTalk (钉钉)")
        FEISHU = "feishu", _("Feishu (飞书)")

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("service"), max_length=10, choices=Kind.choices)
    url = models.URLField(
        _("webhook address"),
        max_length=500,
        help_text=_(
            "The robot's address from the group's settings: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…, "
            "https://oapi.dingtalk.com/robot/send?access_token=… or https://open.feishu.cn/open-apis/bot/v2/hook/…"
        ),
    )
    secret = models.CharField(
        _("signing secret"),
        max_length=200,
        blank=True,
        help_text=_("For a DingTalk robot with 加签 (SEC…) or a Feishu robot with signature checks; WeCom has none."),
    )
    department = models.ForeignKey(
        Department,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="robots",
        verbose_name=_("department"),
        help_text=_("Leave empty for the whole organisation."),
    )
    events = models.JSONField(_("events"), default=every_event)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("group robot")
        verbose_name_plural = _("group robots")

    def __str__(self):
        return self.name


class Delivery(models.Model):
    """One attempt to send a notification by email or to a robot, and how it went."""

    class Status(models.TextChoices):
        SENT = "sent", _("Sent")
        RETRYING = "retrying", _("Failed; will try again")
        FAILED = "failed", _("Failed; gave up")

    channel = models.CharField(_("channel"), max_length=10)
    recipient = models.CharField(_("to"), max_length=254)
    event = models.CharField(_("event"), max_length=20, choices=Event.choices)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="+", verbose_name=_("piece"))
    attempt = models.PositiveSmallIntegerField(_("attempt"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")

    def __str__(self):
        return f"{self.channel} → {self.recipient} · #{self.attempt}"
