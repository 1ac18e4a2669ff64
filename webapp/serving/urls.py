from django.urls import path

from webapp.serving import api, views

app_name = "serving"
urlpatterns = [
    path("models/", views.model_list, name="model_list"),
    path("models/<slug:name>/", views.model_detail, name="model_detail"),
    path("models/<slug:name>/promote/", views.model_promote, name="model_promote"),
    path("models/<slug:name>/versions/<str:number>/rollback/", views.model_rollback, name="model_rollback"),
    path("jobs/<int:pk>/bundle/", views.job_bundle, name="job_bundle"),
    path("jobs/<int:pk>/bundle/status/", views.job_bundle_status, name="job_bundle_status"),
    path("jobs/<int:pk>/bundle/download/", views.job_bundle_download, name="job_bundle_download"),
    path("api/models/", api.api_models, name="api_models"),
    path("api/models/<slug:name>/predict/", api.api_model_predict, name="api_model_predict"),
]
