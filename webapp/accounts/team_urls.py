from django.urls import path

from webapp.accounts import team_views

app_name = "teams"
urlpatterns = [
    path("", team_views.team_list, name="list"),
    path("new/", team_views.team_create, name="create"),
    path("<int:pk>/", team_views.team_detail, name="detail"),
    path("<int:pk>/members/add/", team_views.member_add, name="member_add"),
    path("<int:pk>/members/change/", team_views.member_change, name="member_change"),
    path("<int:pk>/members/remove/", team_views.member_remove, name="member_remove"),
]
