from django.urls import path

from webapp.audits import views

app_name = "audits"
urlpatterns = [
    path("datasets/<int:pk>/audit/", views.dataset_audit, name="dataset_audit"),
    path("datasets/<int:pk>/audit/start/", views.audit_start, name="audit_start"),
    path("datasets/<int:pk>/audit/status/", views.audit_status, name="audit_status"),
    path("findings/<int:pk>/dismiss/", views.finding_dismiss, name="finding_dismiss"),
    path("findings/<int:pk>/relabel/", views.finding_relabel, name="finding_relabel"),
    path("findings/<int:pk>/images/<int:image_id>/delete/", views.finding_image_delete, name="finding_image_delete"),
    path("findings/<int:pk>/images/<int:image_id>/exclude/", views.finding_image_exclude,
         name="finding_image_exclude"),
]
