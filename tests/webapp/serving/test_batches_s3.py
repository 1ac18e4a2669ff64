"""A batch's CSV with an S3 store (issue 26, item 1): stored in the bucket through webapp.core.storage, downloaded
through the app by its team, a 404 to another team and when the file is gone."""

import csv
import io

import pytest
from django.urls import reverse

from tests.s3 import BUCKET
from tests.webapp.serving.test_batches import class_folders, live_birds, row, upload  # noqa: F401 - fixtures
from webapp.core import storage
from webapp.serving import batch_services

pytestmark = pytest.mark.django_db


def test_a_batch_csv_is_stored_in_the_bucket_and_downloaded_through_the_app(s3_storage, media_root, client_for, ann,
                                                                           bob, live_birds):  # noqa: F811
    batch = batch_services.batch_create(named_model=live_birds, user=ann, archive=upload(class_folders()))
    assert batch_services.batch_claim(batch_id=batch.pk)
    assert batch_services.batch_succeed(batch_id=batch.pk, rows=[row("cat/a.jpg", "cat", 0.9, true="cat")],
                                        report={})
    batch.refresh_from_db()
    key = f"media/{batch.csv_file}"
    assert s3_storage.client().head_object(Bucket=BUCKET, Key=key)["ContentLength"] > 0
    assert not any(p.is_file() for p in media_root.rglob("*"))  # nothing on this machine's media folder

    url = reverse("serving:batch_csv", args=["birds", batch.pk])
    response = client_for(ann).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    lines = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [(r["file"], r["decision"], r["true_class"]) for r in lines] == [("cat/a.jpg", "cat", "cat")]
    assert client_for(bob).get(url).status_code == 404
    storage.delete_names([batch.csv_file])
    assert client_for(ann).get(url).status_code == 404
