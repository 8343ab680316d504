"""What the automated pre-checks look for that an organisation sets itself: its sensitive, banned and preferred
terms; and the findings a reviewer dismissed, with why."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .documents import Document


class SensitiveTerm(models.Model):
    """A term the pre-checks point out wherever it appears; with a replacement, a banned or outdated term."""

    class Severity(models.TextChoices):
        HIGH = "high", _("High")
        MEDIUM = "medium", _("Medium")
        LOW = "low", _("Low")

    term = models.CharField(_("term"), max_length=100, unique=True)
    category = models.CharField(
        _("category"), max_length=50, help_text=_("e.g. 政治, 宗教, 医疗广告, 过时名称 (outdated name).")
    )
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices, default=Severity.MEDIUM)
    replacement = models.CharField(
        _("replacement"),
        max_length=100,
        blank=True,
        help_text=_("For a banned or outdated term: what to write instead. Leave empty for a term to flag only."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["category", "term"]
        verbose_name = _("sensitive term")
        verbose_name_plural = _("sensitive terms")

    def __str__(self):
        return self.term


class Dismissal(models.Model):
    """A reviewer's decision that a pre-check finding does not apply to a piece, and why."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="dismissals", verbose_name=_("piece"))
    rule = models.CharField(_("rule"), max_length=50)
    excerpt = models.CharField(_("excerpt"), max_length=200)
    reason = models.CharField(_("reason"), max_length=500)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("dismissed by")
    )
    dismissed_at = models.DateTimeField(_("dismissed"), auto_now_add=True)

    class Meta:
        ordering = ["document", "dismissed_at"]
        verbose_name = _("dismissed finding")
        verbose_name_plural = _("dismissed findings")
        constraints = [models.UniqueConstraint(fields=["document", "rule", "excerpt"], name="dismissed_once")]

    def __str__(self):
        return f"{self.rule}: {self.excerpt}"
