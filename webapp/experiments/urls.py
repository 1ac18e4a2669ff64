from django.urls import include, path

from webapp.experiments import views

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
    # single predictions, heatmaps and the job API live in webapp/serving; their names stay in this namespace
    path("", include("webapp.serving.prediction_urls")),
]
