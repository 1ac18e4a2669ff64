"""python manage.py import_dataset PATH --name NAME [--team TEAM] [--unlabelled]: import a large folder (or zip) on
the server; loose photos, or every photo with --unlabelled, go to the dataset's unlabelled pool.

PATH may be a bucket, s3://bucket/prefix/ (--endpoint-url for a store other than AWS): its objects are downloaded
(into --download-dir, default a temporary folder) and imported as that folder. Keys: settings.S3_IMPORT_*, else
boto3's own chain (AWS_* environment, ~/.aws, an instance role); never on the command line.

Resumable: it commits every --batch photos; run the same command again after an interruption and the photos
already in the dataset are skipped (splits are assigned over the whole folder, so they come out the same).
"""

import json
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from webapp.datasets.importing.bucket import bucket_source_from_settings
from webapp.datasets.models import Dataset
from webapp.datasets.services import dataset_import_bucket, dataset_import_folder, dataset_import_zip


class Command(BaseCommand):
    help = "Import a folder of class folders (or train/validation/test folders), or a zip, into a dataset."

    def add_arguments(self, parser):
        parser.add_argument("path", help="a folder, a zip, or a bucket: s3://bucket/prefix/")
        parser.add_argument("--name", required=True, help="dataset name; the team's existing dataset of that name "
                            "is resumed/extended")
        parser.add_argument("--team", help="team (auth group) of a new dataset; made if missing "
                            "(default: settings.DATASETS_DEFAULT_TEAM)")
        parser.add_argument("--description", default="")
        parser.add_argument("--validation", type=float, help="validation fraction for class-folder layouts")
        parser.add_argument("--test", type=float, help="test fraction for class-folder layouts")
        parser.add_argument("--unlabelled", action="store_true", help="every photo to the unlabelled pool, "
                            "whatever its folders (loose photos in no folder go there anyway)")
        parser.add_argument("--batch", type=int, default=500, help="photos per committed batch")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument("--endpoint-url", help="a bucket's S3 endpoint, for a store other than AWS (default: "
                            "settings.S3_IMPORT_ENDPOINT_URL)")
        parser.add_argument("--region", default="", help="a bucket's region (default: settings.S3_IMPORT_REGION, "
                            "else us-east-1)")
        parser.add_argument("--download-dir", type=Path, help="where a bucket's objects are downloaded; kept, so "
                            "that a resumed import downloads only what it misses (default: a temporary folder)")

    def handle(self, *args, path: str, name: str, team: str | None, **options):
        dataset = self._existing(name, team)
        group = None
        if dataset is None:
            group, _ = Group.objects.get_or_create(name=team or settings.DATASETS_DEFAULT_TEAM)
        fractions = self._fractions(options["validation"], options["test"])
        quiet = options["no_progress"] or options["json"]

        def progress(total, desc):
            return tqdm(total=total, desc=desc, unit="img", disable=quiet, file=self.stderr._out)

        started = time.monotonic()
        try:
            if path.lower().startswith("s3://"):
                source = bucket_source_from_settings(path, endpoint_url=options["endpoint_url"],
                                                     region=options["region"])
                result = dataset_import_bucket(source=source, dataset=dataset, name=name, team=group,
                                               description=options["description"], fractions=fractions,
                                               batch_size=options["batch"], progress=progress,
                                               unlabelled=options["unlabelled"], download_dir=options["download_dir"])
            elif Path(path).is_file():
                with open(path, "rb") as archive:
                    result = dataset_import_zip(archive=archive, user=None, dataset=dataset, name=name, team=group,
                                                description=options["description"], fractions=fractions,
                                                unlabelled=options["unlabelled"])
            else:
                result = dataset_import_folder(path=Path(path), dataset=dataset, name=name, team=group,
                                               description=options["description"], fractions=fractions,
                                               batch_size=options["batch"], progress=progress,
                                               unlabelled=options["unlabelled"])
        except ValidationError as exc:
            raise CommandError(getattr(exc, "text", None) or " ".join(exc.messages)) from None
        seconds = time.monotonic() - started
        report = result.as_dict()
        if options["json"]:
            self.stdout.write(json.dumps({**report, "seconds": round(seconds, 2)}))
            return
        self._print(report, seconds)

    def _existing(self, name: str, team: str | None) -> Dataset | None:
        """The dataset to resume or extend: names are unique per team, so --team picks one when several teams
        use the name; without --team, the only dataset of that name (or the default team's)."""
        datasets = Dataset.objects.filter(name=name).select_related("team")
        if team:
            return datasets.filter(team__name=team).first()
        if len(datasets) > 1:
            default = datasets.filter(team__name=settings.DATASETS_DEFAULT_TEAM).first()
            if default is None:
                teams = ", ".join(sorted(d.team.name for d in datasets))
                raise CommandError(f"Several teams have a dataset named {name!r} ({teams}): say which with --team.")
            return default
        return datasets.first()

    def _fractions(self, validation, test):
        if validation is None and test is None:
            return None
        default = settings.DATASETS_SPLIT_FRACTIONS
        validation = default[1] if validation is None else validation
        test = default[2] if test is None else test
        if (test, validation) == (1, 0):  # an evaluation-only dataset: every photo in the test split
            return (0.0, 0.0, 1.0)
        if validation < 0 or test < 0 or validation + test >= 1:
            raise CommandError("--validation and --test must be >= 0 and leave something for training (or use "
                               "--test 1 --validation 0 for an evaluation-only dataset).")
        return (1 - validation - test, validation, test)

    def _print(self, report: dict, seconds: float):
        out = self.stdout
        out.write(f"Dataset {report['dataset_name']!r} (id {report['dataset_id']}): "
                  f"added {report['total_added']} images in {seconds:.1f} s")
        out.write(f"{'class':<24}{'train':>8}{'validation':>12}{'test':>8}")
        for class_name, per_split in report["added"].items():
            out.write(f"{class_name:<24}{per_split['train']:>8}{per_split['validation']:>12}{per_split['test']:>8}")
        if report["unlabelled"]:
            out.write(f"Unlabelled (in the pool, to label on the Label page): {report['unlabelled']}")
        out.write(f"Skipped as duplicates: {report['duplicates']}")
        out.write(f"Ignored system files: {report['ignored']}")
        out.write(f"Rejected: {len(report['rejected'])}")
        for entry, reason in report["rejected"]:
            out.write(f"  {entry}: {reason}")
