from django.urls import path

from webapp.experiments import api, views

app_name = "experiments"
urlpatterns = [
    path("jobs/", views.job_list, name="job_list"),
    path("jobs/new/", views.job_new, name="job_new"),
    path("jobs/new/estimate/", views.job_estimate, name="job_estimate"),
    path("jobs/compare/", views.compare, name="compare"),
    path("jobs/<int:pk>/", views.job_detail, name="job_detail"),
    path("jobs/<int:pk>/status/", views.job_status, name="job_status"),
    path("jobs/<int:pk>/cancel/", views.job_cancel, name="job_cancel"),
    path("jobs/<int:pk>/delete/", views.job_delete, name="job_delete"),
    path("jobs/<int:pk>/retry/", views.job_retry, name="job_retry"),
    path("jobs/<int:pk>/reevaluate/", views.job_reevaluate, name="job_reevaluate"),
    path("jobs/<int:pk>/threshold/", views.job_threshold, name="job_threshold"),
    path("jobs/<int:pk>/download/", views.job_download, name="job_download"),
    path("evaluations/<int:pk>/status/", views.evaluation_status, name="evaluation_status"),
    path("predict/", views.predict, name="predict"),
    path("predict/status/", views.prediction_status, name="prediction_status"),
    path("predictions/<int:pk>/heatmap/", views.prediction_heatmap, name="prediction_heatmap"),
    path("jobs/<int:pk>/images/<int:image_pk>/heatmap/", views.job_image_heatmap, name="job_image_heatmap"),
    path("api/predict/", api.api_predict, name="api_predict"),
    path("api/jobs/", api.api_jobs, name="api_jobs"),
    path("api/predictions/<int:pk>/heatmap/", api.api_prediction_heatmap, name="api_prediction_heatmap"),
    path("api/predictions/<int:pk>/heatmap.png", api.api_prediction_heatmap_png, name="api_prediction_heatmap_png"),
]
