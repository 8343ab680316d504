"""What leaders use beyond sign-off: the bulletin (简报) assembled from approved pieces, and the review of what was
published (阅评)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .documents import Document
from .proofreading import ErrorCategory
from .publications import Publication


class Bulletin(models.Model):
    """An issue of the bulletin: approved pieces in order under section headings, with an editor's note.

    The issue itself is signed off as a piece of its own (`document`, of the kind "bulletin", which takes the
    bulletin's workflow); once approved it is printed (A4 PDF) and put on the website and WeChat (HTML), and
    registered when published like any piece.
    """

    year = models.PositiveSmallIntegerField(_("year"))
    number = models.PositiveSmallIntegerField(_("issue number"), help_text=_("Numbered from 1 each year."))
    issued_on = models.DateField(_("date of issue"))
    title = models.CharField(_("title"), max_length=100)
    editor_note = models.TextField(_("editor's note"), blank=True)
    editor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("editor")
    )
    document = models.OneToOneField(
        Document, on_delete=models.PROTECT, related_name="bulletin", verbose_name=_("piece signed off")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-year", "-number"]
        verbose_name = _("bulletin issue")
        verbose_name_plural = _("bulletin issues")
        constraints = [models.UniqueConstraint(fields=["year", "number"], name="bulletin_number_unique_in_year")]

    def __str__(self):
        return self.heading

    @property
    def heading(self) -> str:
        return _("%(title)s, %(year)s no. %(number)s") % {"title": self.title, "year": self.year, "number": self.number}


class BulletinItem(models.Model):
    """A piece in an issue of the bulletin, in its place and under its section heading."""

    bulletin = models.ForeignKey(Bulletin, on_delete=models.CASCADE, related_name="items", verbose_name=_("issue"))
    source = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="+", verbose_name=_("piece"))
    section = models.CharField(_("section heading"), max_length=100, blank=True)
    position = models.PositiveSmallIntegerField(_("position"))

    class Meta:
        ordering = ["bulletin", "position", "pk"]
        verbose_name = _("bulletin item")
        verbose_name_plural = _("bulletin items")

    def __str__(self):
        return f"{self.bulletin} · {self.position}"


class ReadingReview(models.Model):
    """A review of what was published in a period (阅评, quarterly by default): each publication read again by one
    of the reviewers, fine or with a problem recorded."""

    title = models.CharField(_("title"), max_length=100)
    since = models.DateField(_("published from"))
    until = models.DateField(_("published until"))
    due_on = models.DateField(_("due"))
    reviewers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="reading_reviews", verbose_name=_("reviewers")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("opened by"), help_text=_("Empty when the worker opened it on schedule."),
    )  # fmt: skip
    created_at = models.DateTimeField(_("opened"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        ordering = ["-since", "-pk"]
        verbose_name = _("post-publication review")
        verbose_name_plural = _("post-publication reviews")
        constraints = [
            models.CheckConstraint(condition=models.Q(until__gte=models.F("since")), name="reading_review_period"),
        ]

    def __str__(self):
        return self.title

    def publications(self):
        """Return what was published in the review's period (the register's rows), oldest first."""
        return (
            Publication.objects.published_between(self.since, self.until).for_register().order_by("published_at", "pk")
        )


class ReadingFinding(models.Model):
    """What a reviewer found reading one publication again."""

    class Verdict(models.TextChoices):
        FINE = "fine", _("Fine")
        PROBLEM = "problem", _("Problem")

    class Severity(models.TextChoices):
        MINOR = "minor", _("Minor")
        MAJOR = "major", _("Major")
        SERIOUS = "serious", _("Serious")

    review = models.ForeignKey(
        ReadingReview, on_delete=models.CASCADE, related_name="findings", verbose_name=_("review")
    )
    publication = models.ForeignKey(
        Publication, on_delete=models.PROTECT, related_name="+", verbose_name=_("publication")
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("reviewer")
    )
    verdict = models.CharField(_("verdict"), max_length=16, choices=Verdict.choices)
    category = models.ForeignKey(
        ErrorCategory, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("category")
    )
    severity = models.CharField(_("severity"), max_length=16, choices=Severity.choices, blank=True)
    note = models.TextField(_("note"), blank=True)
    corrected = models.BooleanField(_("correction published"), default=False)
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        ordering = ["review", "publication__published_at", "pk"]
        verbose_name = _("post-publication finding")
        verbose_name_plural = _("post-publication findings")
        constraints = [
            models.UniqueConstraint(fields=["review", "publication"], name="reading_finding_once_per_publication"),
        ]

    def __str__(self):
        return f"{self.review} · {self.publication_id} · {self.get_verdict_display()}"
