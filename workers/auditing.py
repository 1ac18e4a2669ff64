"""The `audit_run` task's body: extract (through the feature cache) the dataset's photos and those of the team's
other datasets, run classifier.audit, store the findings. Reads go through webapp.audits.selectors, writes through
webapp.audits.services; the claim, heartbeat and failure skeleton is workers/runtime.py's."""

import logging

from webapp.audits import selectors, services
from webapp.audits.models import DatasetAudit
from webapp.core.storage import feature_store
from workers.pipeline import extraction_batch, photo_paths
from workers.runtime import JobError, run_claimed

logger = logging.getLogger(__name__)


def run_audit(audit_id: int, worker: str = "") -> str:
    return run_claimed("audit", audit_id, worker,
                       lambda: _audit(selectors.audit_for_run(audit_id=audit_id)))


def _audit(audit: DatasetAudit) -> None:
    from classifier.audit import audit as run
    from classifier.audit import cached_embeddings
    from classifier.features import extract
    from classifier.recipes import DEFAULT_RECIPE, feature_spec

    spec = feature_spec(DEFAULT_RECIPE, audit.backbone, audit.weights_arg, input_size=audit.input_size)
    cache = feature_store()
    dataset = audit.dataset
    images = selectors.audit_images(audit)
    total = len(images)
    paths = dict(photo_paths([(i.content_hash, i.file.name) for i in images]))  # near-duplicates compare pixels
    report = extract(list(paths.items()), spec, cache,
                     batch_size=extraction_batch(spec),
                     on_progress=lambda done, _: services.audit_progress(audit_id=audit.pk, done=done, total=total))
    bad = {s.content_hash: s.reason for s in report.skipped}
    skipped = [{"image_id": i.pk, "name": str(i), "reason": bad[i.content_hash]} for i in images
               if i.content_hash in bad and i.dataset_id == dataset.pk]
    images = [i for i in images if i.content_hash not in bad]
    if not any(i.dataset_id == dataset.pk for i in images):
        raise JobError("None of the dataset's photos could be read.")
    x = cached_embeddings(spec, cache, [i.content_hash for i in images])
    result = run(x, [i.label.name for i in images], [i.pk for i in images], [i.split for i in images],
                 datasets=[i.dataset_id for i in images], paths=[paths[i.content_hash] for i in images],
                 audited=[i.dataset_id == dataset.pk for i in images])
    services.audit_succeed(audit_id=audit.pk, result=result, images={i.pk: i for i in images},
                           skipped_images=skipped)
