from django.urls import path

from webapp.accounts import views

app_name = "accounts"
urlpatterns = [
    path("notifications/", views.notifications, name="notifications"),
    path("api/token/", views.api_tokens, name="api_tokens"),
    path("api/token/<int:pk>/revoke/", views.api_token_revoke, name="api_token_revoke"),
]
