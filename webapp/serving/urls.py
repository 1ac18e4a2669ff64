from django.urls import path

from webapp.serving import api, batch_views, views

app_name = "serving"
urlpatterns = [
    path("models/", views.model_list, name="model_list"),
    path("models/<slug:name>/", views.model_detail, name="model_detail"),
    path("models/<slug:name>/promote/", views.model_promote, name="model_promote"),
    path("models/<slug:name>/versions/<str:number>/rollback/", views.model_rollback, name="model_rollback"),
    path("models/<slug:name>/batches/", batch_views.batch_new, name="batch_new"),
    path("models/<slug:name>/batches/<int:pk>/", batch_views.batch_detail, name="batch_detail"),
    path("models/<slug:name>/batches/<int:pk>/status/", batch_views.batch_status, name="batch_status"),
    path("models/<slug:name>/batches/<int:pk>/cancel/", batch_views.batch_cancel, name="batch_cancel"),
    path("models/<slug:name>/batches/<int:pk>/predictions.csv", batch_views.batch_csv, name="batch_csv"),
    path("jobs/<int:pk>/bundle/", views.job_bundle, name="job_bundle"),
    path("jobs/<int:pk>/bundle/status/", views.job_bundle_status, name="job_bundle_status"),
    path("jobs/<int:pk>/bundle/download/", views.job_bundle_download, name="job_bundle_download"),
    path("api/models/", api.api_models, name="api_models"),
    path("api/models/<slug:name>/batches/", api.api_batch_create, name="api_batch_create"),
    path("api/models/<slug:name>/batches/<int:pk>/", api.api_batch_detail, name="api_batch_detail"),
    path("api/models/<slug:name>/predict/", api.api_model_predict, name="api_model_predict"),
]
