"""Workers report themselves to the registry; the reaper fails what a gone worker was running within seconds.

Real worker processes (Redis when it runs, else the embedded broker); the reaper's defaults, not test values."""

import os
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from tests.factories import FAST_JOB, make_dataset
from tests.processes import wait_for, worker_env
from webapp.experiments import services
from webapp.experiments.models import (
    ChunkStatus,
    Evaluation,
    EvaluationStatus,
    ExtractionChunk,
    JobStatus,
    TrainingJob,
)
from webapp.lifecycle.services import work_reap
from webapp.workers_registry import selectors
from webapp.workers_registry import services as registry
from webapp.workers_registry.models import Worker


def test_the_reaper_fails_what_gone_workers_ran_and_releases_their_chunks(ann):
    dataset = make_dataset("shapes", per_class=4)
    dead_job, live_job, cancelling, unknown = jobs = [
        services.job_create(dataset=dataset, user=ann, **FAST_JOB) for _ in range(4)]
    for job, worker in zip(jobs, ["dead@a", "live@b", "dead@a", "never-registered@c"]):
        services.job_claim(job_id=job.pk, worker=worker)
    TrainingJob.objects.filter(pk=cancelling.pk).update(cancel_requested=True)
    for name in ("dead@a", "live@b"):
        registry.worker_register(name=name, host="h", pid=1, queues=["train"], backbones_with_weights=[])
    Worker.objects.filter(name="dead@a").update(
        last_seen=timezone.now() - timedelta(seconds=settings.WORKER_DEAD_SECONDS + 1))
    evaluation = Evaluation.objects.create(job=dead_job, dataset=dataset)
    assert services.evaluation_claim(evaluation_id=evaluation.pk, worker="dead@a")
    chunk = lambda job, i, status, worker: ExtractionChunk.objects.create(  # noqa: E731
        job=job, index=i, items=[], status=status, worker=worker, heartbeat_at=timezone.now())
    helped = chunk(live_job, 0, ChunkStatus.RUNNING, "dead@a")  # a dead helper's chunk of a live job
    own = chunk(live_job, 1, ChunkStatus.RUNNING, "live@b")
    chunk(dead_job, 0, ChunkStatus.RUNNING, "live@b")  # a live helper's chunk of the dead job
    chunk(dead_job, 1, ChunkStatus.PENDING, "")
    kept = chunk(dead_job, 2, ChunkStatus.DONE, "dead@a")

    reaped = work_reap()
    assert sorted(reaped["job"]) == sorted([dead_job.pk, cancelling.pk]) and reaped["evaluation"] == [evaluation.pk]
    for row in (*jobs, evaluation, helped, own):
        row.refresh_from_db()
    assert dead_job.status == JobStatus.FAILED and dead_job.error_message == services.worker_died_message("job")
    assert cancelling.status == JobStatus.CANCELLED
    assert live_job.status == unknown.status == JobStatus.EXTRACTING  # unknown: left to the heartbeat reaper
    assert evaluation.status == EvaluationStatus.FAILED and "this evaluation" in evaluation.error_message
    assert helped.status == ChunkStatus.PENDING and own.status == ChunkStatus.RUNNING
    assert list(dead_job.chunks.all()) == [kept]  # unfinished chunks of the ended job dropped

    # A worker restarting under a name fails what its earlier process left running.
    assert work_reap(worker_names=["live@b"]) == {"job": [live_job.pk]}


def test_queue_lengths_count_waiting_messages(clean_broker, transactional_db):
    from workers.tasks import ping, predict_ping

    before = selectors.queue_lengths()
    assert set(before) == {"train", "predict"} and None not in before.values()
    ping.delay(), ping.delay(), predict_ping.delay()  # no worker runs: they wait
    assert selectors.queue_lengths() == {"train": before["train"] + 2, "predict": before["predict"] + 1}


@pytest.mark.slow
@pytest.mark.usefixtures("clean_broker")
def test_a_worker_reports_itself_ready_and_marks_itself_stopped(start_worker):
    from workers.presence import cached_backbones

    worker = start_worker(queues="train,predict", env=worker_env())
    row = wait_for(lambda: Worker.objects.filter(pid=worker.proc.pid, ready=True).first(), 120,
                   message="the worker to report itself ready (TensorFlow loaded)")
    assert row.is_alive and row.queues == ["predict", "train"] and row.name.startswith("test-train-predict-")
    assert row.backbones_with_weights == cached_backbones()  # the same Keras cache as this process
    assert selectors.queue_has_worker("predict", ready=True)
    assert {_niceness(pid) for pid in _threads(worker)} == {os.nice(0)}  # it serves predictions: no lower priority
    seen = row.last_seen
    wait_for(lambda: Worker.objects.get(pk=row.pk).last_seen > seen, settings.WORKER_REPORT_SECONDS + 10,
             message="a periodic report")

    worker.stop()
    row.refresh_from_db()
    assert row.stopped_at is not None and not row.is_alive and not selectors.queue_has_worker("train")


@pytest.mark.usefixtures("clean_broker")
def test_a_worker_that_only_trains_yields_the_cpu_to_predictions(start_worker):
    worker = start_worker(queues="train", env=worker_env())
    wait_for(lambda: Worker.objects.filter(pid=worker.proc.pid, ready=True).exists(), 120,
             message="the worker to report itself ready (TensorFlow loaded)")
    threads = _threads(worker)
    assert len(threads) > 1  # TensorFlow's threads too, which inherit the priority set before they started
    expected = min(19, os.nice(0) + settings.TRAIN_WORKER_NICENESS)
    assert {_niceness(pid) for pid in threads} == {expected}


def _threads(worker) -> list[int]:
    """Every thread of the worker's pool processes."""
    return [int(t) for pid in worker.child_pids() for t in os.listdir(f"/proc/{pid}/task")]


def _niceness(thread_id: int) -> int:
    with open(f"/proc/{thread_id}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[16])  # field 19 of proc(5), after "pid (comm)"


@pytest.mark.slow
@pytest.mark.usefixtures("clean_broker")
def test_a_hard_killed_worker_fails_its_job_within_30_s_and_its_chunks_are_dropped(start_worker, ann):
    """Two `train` workers share a job's extraction; the job's own worker is SIGKILLed (with its pool)."""
    dataset = make_dataset("many", per_class=30)
    env = worker_env(MENAGERIE_EXTRACT_CHUNK_SIZE="6", MENAGERIE_EXTRACT_BATCH_SIZE="2")
    # The reaper runs in every live worker's main process (the surviving helper's here), on its default schedule.
    workers = [start_worker(queues="train", env=env, wait=False) for _ in range(2)]  # loading side by side
    for worker in workers:
        worker.wait_ready()
    job = services.job_create(dataset=dataset, user=ann, **FAST_JOB | {"input_size": 128})

    def both_extracting():
        running = set(job.chunks.filter(status=ChunkStatus.RUNNING).values_list("worker", flat=True))
        return len(running) == 2 and running

    wait_for(both_extracting, 120, message="both workers extracting chunks of the job")
    job.refresh_from_db()
    owner = next(w for w in workers if Worker.objects.filter(pid=w.proc.pid, name=job.worker).exists())
    owner.kill()
    killed_at = time.monotonic()

    def failed():
        job.refresh_from_db()
        return job.is_finished

    wait_for(failed, 30, interval=0.2, message="the job to fail after its worker was killed")
    print(f"job failed {time.monotonic() - killed_at:.1f} s after the kill")
    assert job.status == JobStatus.FAILED and job.error_message == services.worker_died_message("job")
    wait_for(lambda: not job.chunks.exclude(status=ChunkStatus.DONE).exists(), 10,
             message="the job's unfinished chunks to be dropped")

    # The surviving helper stopped extracting for the dead job: it is free for the next one at once.
    survivor = next(w for w in workers if w is not owner)
    nxt = services.job_create(dataset=make_dataset("next", per_class=4, seed=3), user=ann, **FAST_JOB)
    wait_for(lambda: TrainingJob.objects.get(pk=nxt.pk).status == JobStatus.SUCCEEDED, 120,
             message="the next job to succeed on the surviving worker")
    assert TrainingJob.objects.get(pk=nxt.pk).worker == Worker.objects.get(pid=survivor.proc.pid).name


def test_a_restarted_worker_takes_over_its_name_only_from_a_dead_process(transactional_db):
    import socket
    import subprocess

    from workers.presence import Reporter

    reporter = Reporter("train@box", ["train"])
    assert reporter.earlier_process_gone()  # never registered
    exited = subprocess.Popen(["true"])
    exited.wait()  # reaped: its pid runs no process
    dead_pid = exited.pid
    for pid, host, gone in [(dead_pid, socket.gethostname(), True), (os.getppid(), socket.gethostname(), False),
                            (dead_pid, "other-host", False)]:
        registry.worker_register(name="train@box", host="h", pid=pid, queues=["train"], backbones_with_weights=[])
        Worker.objects.filter(name="train@box").update(host=host)
        assert reporter.earlier_process_gone() is gone, (pid, host)
