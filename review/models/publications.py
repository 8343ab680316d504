from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import Channel
from .documents import Document, Revision, StageReview


class PublicationQuerySet(models.QuerySet):
    def published_between(self, since=None, until=None) -> "PublicationQuerySet":
        """Return the publications of a period: whole days in the local time zone, both ends included."""
        publications = self
        if since:
            publications = publications.filter(published_at__date__gte=since)
        if until:
            publications = publications.filter(published_at__date__lte=until)
        return publications

    def for_register(self) -> "PublicationQuerySet":
        """Return the publications with what the register shows of each, in a fixed number of queries."""
        approvals = StageReview.objects.filter(decision=StageReview.Decision.APPROVED).order_by(
            "round", "stage__position"
        )
        return self.select_related("document__department", "document__drafter", "publisher").prefetch_related(
            models.Prefetch("document__stage_reviews", queryset=approvals, to_attr="approvals")
        )


class Publication(models.Model):
    """Where and when an approved piece went out, and who put it there."""

    document = models.ForeignKey(
        Document, on_delete=models.PROTECT, related_name="publications", verbose_name=_("piece")
    )
    channel = models.CharField(_("channel"), max_length=32, choices=Channel.choices)
    url = models.URLField(_("link"), blank=True)
    published_at = models.DateTimeField(_("published at"))
    publisher = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("publisher")
    )
    revision = models.ForeignKey(Revision, on_delete=models.PROTECT, related_name="+", verbose_name=_("revision"))
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    objects = PublicationQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at"]
        verbose_name = _("publication")
        verbose_name_plural = _("publications")

    def __str__(self):
        return f"{self.document} · {self.get_channel_display()}"

    def signatures(self) -> list[StageReview]:
        """Return the approvals of the round that was published, in stage order (prefetched by for_register)."""
        approvals = getattr(self.document, "approvals", None)
        if approvals is None:
            approvals = self.document.stage_reviews.filter(decision=StageReview.Decision.APPROVED).order_by(
                "round", "stage__position"
            )
        # Only an approved piece is published, and an approved piece starts no new round.
        return [
            review
            for review in approvals
            if review.round == self.document.round and review.revision_id == self.revision_id
        ]
