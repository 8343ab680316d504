"""Forms read and show what people type; the rules they must satisfy are checked by the services."""

import filetype
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Department, Membership
from audit import labels
from audit.forms import MAX_ID, PeriodForm

from . import services
from .models import Channel, Document, ErrorCategory, Part, RouteStage


class DocumentForm(forms.ModelForm):
    channels = forms.MultipleChoiceField(
        label=_("Channels"), choices=Channel.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Document
        fields = ["title", "summary", "body", "department", "kind", "channels", "source", "is_major", "due_date"]
        widgets = {
            "body": forms.HiddenInput(attrs={"id": "id_body"}),
            "due_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "summary": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].empty_label = _("Choose a department")
        self.fields["department"].queryset = Department.objects.filter(
            memberships__user=user, memberships__role=Membership.Role.DRAFTER
        ).distinct()
        if self.instance.pk:
            # The department decides who reviews; it is fixed once the piece exists.
            self.fields["department"].disabled = True
        elif self.fields["department"].queryset.count() == 1:
            self.fields["department"].initial = self.fields["department"].queryset.get()

    def clean_body(self):
        # The service's own check, here too, so that an empty body is reported with the other fields.
        try:
            return services.clean_body(self.cleaned_data["body"])
        except services.Invalid as refusal:
            raise forms.ValidationError(refusal.message) from None


class DecisionForm(forms.Form):
    """An approval's checklist answers, error counts, opinion and signature password; or the reason for a return
    or a rejection. Every field is optional here: the service says what is missing, in the order it checks."""

    YES_NO = [("yes", _("Yes")), ("no", _("No"))]

    review = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1, max_value=MAX_ID)
    opinion = forms.CharField(label=_("Opinion"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    password = forms.CharField(
        label=_("Your password, to sign"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, stage: RouteStage | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.stage = stage
        self.items = list(stage.checklist.all()) if stage else []
        self.categories = list(ErrorCategory.objects.filter(is_active=True)) if stage and stage.proofread_name else []
        for item in self.items:
            self.fields[f"item_{item.pk}"] = forms.ChoiceField(
                label=item.text, choices=self.YES_NO, required=False, widget=forms.RadioSelect
            )
            self.fields[f"note_{item.pk}"] = forms.CharField(label=_("What is wrong"), required=False, max_length=500)
        for category in self.categories:
            self.fields[f"errors_{category.pk}"] = forms.IntegerField(
                label=category.name, required=False, min_value=0, max_value=10_000
            )

    @property
    def parts(self) -> list[tuple[str, str, list]]:
        """Return each part of the checklist: its code, its meaning (初审, 初校) and its (question, answer, note)."""
        meanings = {Part.REVIEW: self.stage.name, Part.PROOFREAD: self.stage.proofread_name} if self.stage else {}
        parts = []
        for part in (Part.REVIEW, Part.PROOFREAD):
            rows = [(i, self[f"item_{i.pk}"], self[f"note_{i.pk}"]) for i in self.items if i.part == part]
            if rows:
                parts.append((part, meanings[part], rows))
        return parts

    def error_fields(self) -> list[tuple]:
        return [(category, self[f"errors_{category.pk}"]) for category in self.categories]

    def checklist(self) -> list[dict]:
        """Return the answers given, as the approval service takes them (unanswered questions left out)."""
        answers = []
        for item in self.items:
            answer = self.cleaned_data.get(f"item_{item.pk}")
            if answer:
                note = self.cleaned_data.get(f"note_{item.pk}", "")
                answers.append({"item": item.pk, "ok": answer == "yes", "note": note})
        return answers

    def errors_found(self) -> list[dict]:
        """Return the error counts given, as the approval service takes them."""
        counts = ((category, self.cleaned_data.get(f"errors_{category.pk}")) for category in self.categories)
        return [{"category": category.pk, "count": count} for category, count in counts if count]


class PublishForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"))
    url = forms.URLField(label=_("Link"), required=False, assume_scheme="https")
    published_at = forms.DateTimeField(
        label=_("Published at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )

    def __init__(self, *args, document: Document, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [(code, label) for code, label in Channel.choices if code in document.channels]
        self.fields["published_at"].initial = timezone.localtime().replace(second=0, microsecond=0)


class AuditFilterForm(PeriodForm):
    """The auditor's filters, shared by the audit page, its downloads and the API."""

    department = forms.ModelChoiceField(
        label=_("Department"), queryset=Department.objects.all(), required=False, empty_label=_("All")
    )
    document = forms.IntegerField(label=_("Piece number"), required=False, min_value=1, max_value=MAX_ID)
    actor = forms.ModelChoiceField(
        label=_("Actor"), queryset=get_user_model().objects.order_by("username"), required=False, empty_label=_("All")
    )
    action = forms.ChoiceField(label=_("Action"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", _("All")), *labels.action_choices()]

    def criteria(self) -> dict:
        """Return the filters in the audit log's own terms, as strings (audit.forms.CriteriaForm reads them)."""
        filters = self.filters()
        criteria = {name: filters[name].isoformat() for name in ("since", "until") if name in filters}
        if "department" in filters:
            criteria["scope"] = str(filters["department"].pk)
        if "document" in filters:
            criteria.update(object_type=Document._meta.label_lower, object_id=str(filters["document"]))
        if "actor" in filters:
            criteria["actor"] = str(filters["actor"].pk)
        if "action" in filters:
            criteria["action"] = filters["action"]
        return criteria


class RegisterFilterForm(PeriodForm):
    """The period of the publication register, shared by its page and its downloads."""


# What a piece may carry: extension → the file types (by content) that may bear it.
ATTACHMENT_TYPES = {
    "pdf": {"pdf"},
    "docx": {"docx"},
    "xlsx": {"xlsx"},
    "png": {"png"},
    "jpg": {"jpg"},
    "jpeg": {"jpg"},
    "gif": {"gif"},
    "webp": {"webp"},
}


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("Attach a file"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.ATTACHMENT_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(size)s MB.") % {"size": settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)}
            )
        extension = upload.name.rsplit(".", 1)[-1].lower() if "." in upload.name else ""
        if extension not in ATTACHMENT_TYPES:
            raise forms.ValidationError(
                _("Only these kinds of file can be attached: %(kinds)s.") % {"kinds": ", ".join(ATTACHMENT_TYPES)}
            )
        kind = filetype.guess(upload.read(8192))
        upload.seek(0)
        if kind is None or kind.extension not in ATTACHMENT_TYPES[extension]:
            raise forms.ValidationError(
                _("The file's content is not what its name says (.%(ext)s).") % {"ext": extension}
            )
        self.cleaned_data["extension"] = f".{extension}"
        self.cleaned_data["content_type"] = kind.mime
        return upload
