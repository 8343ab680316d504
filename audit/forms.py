import datetime

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from .models import AuditEvent

# Days outside these bounds cannot be turned into moments in every time zone (year 1 and year 9999 overflow).
EARLIEST_DAY = datetime.date(1900, 1, 1)
LATEST_DAY = datetime.date(9998, 12, 31)
MAX_ID = 2**63 - 1


def _day_field(label) -> forms.DateField:
    message = _("Choose a day between %(earliest)s and %(latest)s.") % {
        "earliest": EARLIEST_DAY.isoformat(),
        "latest": LATEST_DAY.isoformat(),
    }
    return forms.DateField(
        label=label,
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[MinValueValidator(EARLIEST_DAY, message), MaxValueValidator(LATEST_DAY, message)],
    )


class PeriodForm(forms.Form):
    """A period of whole days, either end open."""

    since = _day_field(_("From"))
    until = _day_field(_("Until"))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("since") and cleaned.get("until") and cleaned["since"] > cleaned["until"]:
            raise forms.ValidationError(_("The start of the period comes after its end."))
        return cleaned

    def filters(self) -> dict:
        """Return the filters given, as keyword arguments for a QuerySet method."""
        return {name: value for name, value in self.cleaned_data.items() if value not in (None, "")}

    def describe(self) -> dict:
        """Return the filters given as plain strings (for a manifest, a link or a stored job)."""
        return {name: str(getattr(value, "pk", value)) for name, value in self.filters().items()}


class CriteriaForm(PeriodForm):
    """What AuditEvent.objects.matching() takes, read from strings (a stored export's filters, a command line)."""

    actor = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    action = forms.CharField(required=False, max_length=40)
    object_type = forms.CharField(required=False, max_length=100)
    object_id = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    scope = forms.CharField(required=False, max_length=64)


def events_matching(criteria: dict):
    """Return the events matching criteria given as strings (a stored export's, or a filter form's criteria())."""
    form = CriteriaForm(data=criteria)
    if not form.is_valid():
        raise ValueError(form.errors.as_text())
    return AuditEvent.objects.matching(**form.filters())
