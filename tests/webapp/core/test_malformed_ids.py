"""Item 5 of "Hardening": every URL pattern, with malformed ids in its path and in the query parameters that
carry ids, answers a 4xx (a 404 or a form error), never a 500. The patterns come from the resolver, so a new
page is walked without editing this test."""

import re
from urllib.parse import quote

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.webapp.experiments.conftest import make_dataset, succeed_job
from webapp.accounts.models import ApiToken
from webapp.experiments import services

MALFORMED = [
    "9" * 30,  # far past 64 bits
    "9223372036854775808",  # one past the largest BigAutoField
    "-1", "0", "²", "١٢", "1.5", "1e3", "abc", " 1", "1,2", "",
]
ID_PARAMS = ["shown", "jobs", "job", "evaluation", "dataset", "label", "page", "team", "id"]
ADMIN_PARAMS = ["p", "o", "q"]
CONVERTER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def patterns(resolvers=None, prefix="") -> list[str]:
    """Every route of the site as a string like 'jobs/<int:pk>/'."""
    routes = []
    for entry in get_resolver().url_patterns if resolvers is None else resolvers:
        if isinstance(entry, URLResolver):
            routes += patterns(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            routes.append(prefix + str(entry.pattern))
    return routes


def fill(route: str, value: str) -> str:
    """The route with every converter replaced by value (media paths get a dataset-shaped path around it)."""
    def one(match):
        if route.startswith("media/"):
            return f"datasets/{value}/images/x.jpg"
        return value
    return "/" + CONVERTER.sub(one, route)


@pytest.fixture
def objects(db, django_user_model, settings, tmp_path):
    from django.contrib.auth.models import Group

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    settings.FEATURES_DIR = tmp_path / "features"
    lab = Group.objects.create(name="lab")
    member = django_user_model.objects.create_user("ann")
    member.groups.add(lab)
    admin = django_user_model.objects.create_superuser("root")
    admin.groups.add(lab)
    dataset = make_dataset("pets", lab, per_class=3)
    job = succeed_job(services.job_create(
        dataset=dataset, user=member, backbone="mobilenet_v2", weights="none", pooling="avg", input_size=32,
        head_config={"epochs": 3, "batch_size": 8, "hidden": [16], "dropout": [0.1], "learning_rate": 1e-3}))
    ApiToken.create_for(user=member, name="laptop")
    return {"member": member, "admin": admin, "job": job}


def assert_no_500(client, user, method: str, url: str, **kwargs):
    if client.session.get("_auth_user_id") != str(user.pk):  # a view may log out (logout/): log in again
        client.force_login(user)
    response = getattr(client, method)(url, **kwargs)
    assert response.status_code < 500, f"{method.upper()} {url} {kwargs} -> {response.status_code} as {user}"


def routes_for(role: str) -> list[str]:
    """The admin's routes for the superuser, the app's for a team member (the admin sends members to its login)."""
    return [route for route in patterns() if route.startswith("admin/") == (role == "admin")]


@pytest.mark.slow
@pytest.mark.parametrize("role", ["member", "admin"])
def test_malformed_ids_in_every_path_are_never_a_server_error(client, objects, role):
    client.raise_request_exception = False
    routes = [route for route in routes_for(role) if CONVERTER.search(route)]
    assert len(routes) >= 10
    for route in routes:
        for value in MALFORMED:
            url = fill(route, quote(value, safe=""))
            assert_no_500(client, objects[role], "get", url)
            if role == "member":
                assert_no_500(client, objects[role], "post", url)


@pytest.mark.slow
@pytest.mark.parametrize("role", ["member", "admin"])
def test_malformed_ids_in_query_parameters_and_forms_are_never_a_server_error(client, objects, role):
    client.raise_request_exception = False
    job = objects["job"]
    for route in routes_for(role):
        if CONVERTER.search(route) and role == "admin":
            continue  # admin object pages: their ids are walked above
        # Routes that change state (cancel, retry, revoke, delete, logout) refuse GET: they are only read here.
        url = fill(route, str(job.pk if "jobs" in route else job.dataset_id))
        for value in MALFORMED:
            if role == "admin":  # a bad filter makes the admin redirect before it reads the others: one at a time
                for name in ADMIN_PARAMS:
                    assert_no_500(client, objects[role], "get", url, data={name: value})
            else:  # each view reads the parameters it knows and ignores the rest
                assert_no_500(client, objects[role], "get", url, data=dict.fromkeys(ID_PARAMS, value))
    if role == "member":
        for url in ("/predict/", "/api/predict/", "/jobs/new/", "/jobs/compare/", f"/jobs/{job.pk}/reevaluate/",
                    "/datasets/import/", f"/datasets/{job.dataset_id}/upload/", "/jobs/new/estimate/"):
            for value in MALFORMED:
                data = dict.fromkeys(("job", "jobs", "dataset", "label", "team"), value)
                assert_no_500(client, objects[role], "post", url, data=data)
