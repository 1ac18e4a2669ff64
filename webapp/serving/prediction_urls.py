"""The routes of single predictions, their heatmaps and the job API. Included by webapp/experiments/urls.py so that
their names stay in the `experiments` namespace (`experiments:predict`, `experiments:api_predict`...): pages, API
scripts and tests reverse them by those names, which predate the move of these views into serving."""

from django.urls import path

from webapp.serving import api, prediction_views

urlpatterns = [
    path("predict/", prediction_views.predict, name="predict"),
    path("predict/status/", prediction_views.prediction_status, name="prediction_status"),
    path("predictions/<int:pk>/heatmap/", prediction_views.prediction_heatmap, name="prediction_heatmap"),
    path("jobs/<int:pk>/images/<int:image_pk>/heatmap/", prediction_views.job_image_heatmap,
         name="job_image_heatmap"),
    path("api/predict/", api.api_predict, name="api_predict"),
    path("api/jobs/", api.api_jobs, name="api_jobs"),
    path("api/predictions/<int:pk>/heatmap/", api.api_prediction_heatmap, name="api_prediction_heatmap"),
    path("api/predictions/<int:pk>/heatmap.png", api.api_prediction_heatmap_png, name="api_prediction_heatmap_png"),
]
