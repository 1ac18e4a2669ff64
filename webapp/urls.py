from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from webapp.home import views as home_views
from webapp.operations import views as operations_views

urlpatterns = [
    path("", home_views.home, name="home"),
    path("home/status/", home_views.home_status, name="home_status"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("health/", operations_views.health, name="health"),
    path("media/<path:path>", operations_views.media, name="media"),
    path("datasets/", include("webapp.datasets.urls")),
    path("datasets/", include("webapp.labelling.urls")),
    path("", include("webapp.audits.urls")),
    path("teams/", include("webapp.accounts.team_urls")),
    path("predictions/", include("webapp.serving.review_urls")),
    path("", include("webapp.experiments.urls")),
    path("", include("webapp.serving.urls")),
    path("", include("webapp.accounts.urls")),
    path("admin/", admin.site.urls),
]
handler500 = "webapp.operations.views.server_error"
