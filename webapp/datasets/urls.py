from django.urls import path

from webapp.datasets import views

app_name = "datasets"
urlpatterns = [
    path("", views.dataset_list, name="list"),
    path("import/", views.dataset_import, name="import"),
    path("import/bucket/", views.dataset_import_bucket, name="import_bucket"),
    path("<int:pk>/", views.dataset_detail, name="detail"),
    path("<int:pk>/photos/action/", views.photos_action, name="photos_action"),
    path("<int:pk>/photos/<int:image_pk>/", views.photo_detail, name="photo"),
    path("<int:pk>/upload/", views.images_upload, name="upload"),
    path("<int:pk>/import-rejections.csv", views.import_rejections, name="import_rejections"),
    path("<int:pk>/delete/", views.dataset_delete, name="delete"),
    path("<int:pk>/download.zip", views.dataset_download, name="download"),
]
