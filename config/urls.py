from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from config import views

urlpatterns = [
    # Browsers ask for /favicon.ico where a page names no icon (the API's JSON, a PDF): the site's own icon.
    path("favicon.ico", views.favicon, name="favicon"),
    path("accounts/", include("accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/", include("review.api.urls")),
    path("", include("review.urls")),
]

# The admin under the site's own name, in the reader's language.
admin.site.site_header = _("Imprimatur administration")
admin.site.site_title = _("Imprimatur administration")
admin.site.index_title = _("Workflows, people and settings")

handler400 = "config.views.bad_request"
handler403 = "config.views.permission_denied"
handler404 = "config.views.page_not_found"
handler500 = "config.views.server_error"
