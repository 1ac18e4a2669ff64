"""python manage.py media_orphans [--all] [--delete]: files under media/datasets/ that no row owns, and staging
folders of imports that never finished (a killed process). With --all, also what webapp.operations.cleanup finds: feature
cache files of photos no dataset holds, folders of deleted jobs, prediction photos past their retention. Dry run by
default: lists what --delete would do."""

from django.core.management.base import BaseCommand

from webapp.operations.cleanup import store_orphans_find, store_orphans_remove
from webapp.datasets.services import media_orphans_remove


class Command(BaseCommand):
    help = "List (or with --delete, remove) files that no row owns: dataset media (with --all: every store)."

    def add_arguments(self, parser):
        parser.add_argument("--delete", action="store_true", help="remove them (default: only list them)")
        parser.add_argument("--all", action="store_true",
                            help="also the feature cache, deleted jobs' folders and expired prediction photos")
        parser.add_argument("--stale-after", type=float, default=3600, metavar="SECONDS",
                            help="leave staging folders (and, with --all, feature and job files) younger than this "
                                 "alone: an import or a job may be writing there")

    def handle(self, *args, delete: bool, stale_after: float, **options):
        orphans = media_orphans_remove(delete=delete, stale_after=stale_after)
        verb = "" if delete else "would be "
        for name in orphans.files:
            self.stdout.write(f"orphan: {name}")
        for staged, final in orphans.moves:
            self.stdout.write(f"interrupted move: {staged} -> {final}")
        for stage in orphans.stale_stages:
            self.stdout.write(f"stale staging folder: {stage}")
        self.stdout.write(f"{len(orphans.files)} orphan files {verb}deleted, {len(orphans.moves)} interrupted moves "
                          f"{verb}completed, {len(orphans.stale_stages)} staging folders {verb}removed"
                          + ("" if delete else " (dry run: add --delete)") + ".")
        if not options["all"]:
            return
        stores = store_orphans_find(stale_after=stale_after)
        for name in stores.features:
            self.stdout.write(f"feature of a photo no dataset holds: {name}")
        for area, folder in stores.job_folders:
            self.stdout.write(f"folder of a deleted job: {area}/{folder}")
        if delete:
            store_orphans_remove(stores)
        self.stdout.write(f"{len(stores.features)} feature files {verb}deleted, {len(stores.job_folders)} job folders "
                          f"{verb}removed, {len(stores.expired_predictions)} prediction photos past the retention "
                          f"{verb}removed.")
