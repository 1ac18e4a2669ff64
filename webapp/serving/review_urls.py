from django.urls import path

from webapp.serving import review_views

app_name = "review"
urlpatterns = [
    path("review/", review_views.prediction_review, name="list"),
    path("<int:pk>/mark/", review_views.prediction_mark, name="mark"),
    path("<int:pk>/add/", review_views.prediction_add, name="add"),
]
