"""Memory after a job (issue 23, item 3): a pool process that grew past WORKER_MAX_RSS_MB is replaced after its
task, one below it stays warm; extraction runs in the batch the estimate lowered to."""

import pytest

from tests.processes import worker_env


@pytest.mark.slow
def test_a_pool_process_is_replaced_after_a_task_only_above_the_rss_bound(require_redis, start_worker,
                                                                           clean_broker):
    from workers.tasks import ping

    worker = start_worker(queues="train")  # the default bound: far above a warm process's memory
    first, second = (ping.delay().get(timeout=60)["pid"] for _ in range(2))
    assert first == second  # TensorFlow is not loaded again after each task
    worker.stop()
    start_worker(queues="train", env=worker_env(MENAGERIE_WORKER_MAX_RSS_MB="1"))  # every process is above 1 MB
    first, second = (ping.delay().get(timeout=120)["pid"] for _ in range(2))
    assert first != second


def test_the_worker_extracts_in_the_batch_that_fits_the_memory_bound(settings):
    from classifier.features import FeatureSpec
    from workers.pipeline import extraction_batch

    large = FeatureSpec("mobilenet_v2", None, None, "float32", 1024, stage="top_input")
    small = FeatureSpec("mobilenet_v2", None, None, "float32", 224, stage="top_input")
    assert extraction_batch([small]) == settings.EXTRACT_BATCH_SIZE
    assert 1 <= extraction_batch([large], photo_pixels=1024 * 768) < settings.EXTRACT_BATCH_SIZE
    settings.JOB_MAX_MEMORY_BYTES = 6 * 1024**3  # phone photos take more to decode than 1024 px ones
    assert extraction_batch([large], photo_pixels=1024 * 768) > extraction_batch([large], photo_pixels=4000 * 3000)
