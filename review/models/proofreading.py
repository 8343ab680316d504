"""Proofreading (三校): the checklist answers a signature carries, and the errors a proofreader found and corrected."""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .documents import StageReview
from .workflow import RouteChecklistItem


class ErrorCategory(models.Model):
    """A kind of error a proofreader counts, and its weight in the error rate (差错率).

    The weights follow the publishing standard, which changes (CY/T 266-2023 today): administrators edit them;
    each recorded error keeps the weight it was counted with.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    weight = models.DecimalField(
        _("weight"), max_digits=4, decimal_places=1, validators=[MinValueValidator(Decimal("0.1"))]
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("error category")
        verbose_name_plural = _("error categories")

    def __str__(self):
        return self.name


class ChecklistAnswer(models.Model):
    """A reviewer's answer to one checklist question, part of their signature."""

    review = models.ForeignKey(
        StageReview, on_delete=models.CASCADE, related_name="answers", verbose_name=_("signature")
    )
    item = models.ForeignKey(RouteChecklistItem, on_delete=models.PROTECT, related_name="+", verbose_name=_("question"))
    ok = models.BooleanField(_("yes"))
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["review", "item__position", "item"]
        verbose_name = _("checklist answer")
        verbose_name_plural = _("checklist answers")
        constraints = [models.UniqueConstraint(fields=["review", "item"], name="checklist_answered_once")]

    def __str__(self):
        return f"{self.item} · {'✓' if self.ok else '✗'}"


class RecordedError(models.Model):
    """Errors of one category a proofreader found and corrected at their stage."""

    review = models.ForeignKey(
        StageReview, on_delete=models.CASCADE, related_name="errors", verbose_name=_("signature")
    )
    category = models.ForeignKey(ErrorCategory, on_delete=models.PROTECT, related_name="+", verbose_name=_("category"))
    # The category's weight when counted: a later change of the standard does not rewrite history.
    weight = models.DecimalField(_("weight"), max_digits=4, decimal_places=1)
    count = models.PositiveSmallIntegerField(_("count"), validators=[MinValueValidator(1)])
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["review", "category__position", "pk"]
        verbose_name = _("recorded error")
        verbose_name_plural = _("recorded errors")

    def __str__(self):
        return f"{self.category} × {self.count}"

    @property
    def weighted(self) -> Decimal:
        return self.weight * self.count
