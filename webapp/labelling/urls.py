from django.urls import path

from webapp.labelling import views

app_name = "labelling"
urlpatterns = [
    path("<int:pk>/label/", views.label_page, name="label"),
    path("<int:pk>/label/status/", views.label_status, name="status"),
    path("<int:pk>/label/photos/", views.label_photos, name="photos"),
    path("<int:pk>/label/assign/", views.label_assign, name="assign"),
    path("<int:pk>/label/undo/", views.label_undo, name="undo"),
    path("<int:pk>/label/aside/", views.label_aside, name="aside"),
    path("<int:pk>/label/accept/", views.suggestions_accept, name="accept"),
    path("<int:pk>/label/expected/", views.suggestions_expected, name="expected"),
    path("<int:pk>/label/refresh/", views.suggestions_refresh, name="refresh"),
    path("<int:pk>/label/review/", views.review, name="review"),
]
