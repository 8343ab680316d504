import filetype
from django import forms
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Department, Membership

from .models import AuditEvent, Channel, Document


class DocumentForm(forms.ModelForm):
    channels = forms.MultipleChoiceField(
        label=_("Channels"), choices=Channel.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Document
        fields = ["title", "body", "department", "kind", "channels", "source", "is_major", "due_date"]
        widgets = {
            "body": forms.HiddenInput(attrs={"id": "id_body"}),
            "due_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
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
        from .services import sanitise

        body = sanitise(self.cleaned_data["body"])
        if not body:
            raise forms.ValidationError(_("Write the piece before saving it."))
        return body


class DecisionForm(forms.Form):
    """The opinion on an approval, or the reason for a return or a rejection.

    An approval is an electronic signature: the signer re-enters their password, checked through
    Django's authenticate() so that a wrong one is logged and counts toward lockout like a failed login.
    """

    review = forms.IntegerField(widget=forms.HiddenInput, required=False)
    opinion = forms.CharField(label=_("Opinion"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    password = forms.CharField(
        label=_("Your password, to sign"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, reason_required: bool = False, signer=None, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.signer, self.request = signer, request
        if reason_required:
            self.fields["opinion"].required = True
            self.fields["opinion"].error_messages["required"] = _("Give a reason, so the drafter knows what to do.")
        if signer is not None:
            self.fields["password"].required = True
            self.fields["password"].error_messages["required"] = _("Enter your password to sign the approval.")

    def clean_password(self):
        password = self.cleaned_data["password"]
        if self.signer is None:
            return ""
        user = authenticate(self.request, username=self.signer.get_username(), password=password)
        if user is None or user.pk != self.signer.pk:
            raise forms.ValidationError(_("That password is not correct; nothing was signed."), code="bad_signature")
        return ""  # never kept beyond this check


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


class PeriodForm(forms.Form):
    """A period of whole days, either end open."""

    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("since") and cleaned.get("until") and cleaned["since"] > cleaned["until"]:
            raise forms.ValidationError(_("The start of the period comes after its end."))
        return cleaned

    def filters(self) -> dict:
        """Return the filters given, as keyword arguments for the matching QuerySet method."""
        return {name: value for name, value in self.cleaned_data.items() if value not in (None, "")}


class AuditFilterForm(PeriodForm):
    """The auditor's filters, shared by the audit page, its downloads and the API."""

    department = forms.ModelChoiceField(
        label=_("Department"), queryset=Department.objects.all(), required=False, empty_label=_("All")
    )
    document = forms.IntegerField(label=_("Piece number"), required=False, min_value=1, max_value=2**63 - 1)
    actor = forms.ModelChoiceField(
        label=_("Actor"), queryset=get_user_model().objects.order_by("username"), required=False, empty_label=_("All")
    )
    action = forms.ChoiceField(label=_("Action"), choices=[("", _("All"))] + AuditEvent.Action.choices, required=False)

    def describe(self) -> dict:
        """Return the filters as plain strings, for manifests."""
        return {name: str(getattr(value, "pk", value)) for name, value in self.filters().items()}


class RegisterFilterForm(PeriodForm):
    """The period of the publication register, shared by its page and its downloads."""

    def describe(self) -> dict:
        """Return the period as ISO dates, for the audit event and the PDF."""
        return {name: value.isoformat() for name, value in self.filters().items()}


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
