"""python manage.py media_orphans [--delete]: files under media/datasets/ that no row owns, and staging folders of
imports that never finished (a killed process). Dry run by default: lists what --delete would do."""

from django.core.management.base import BaseCommand

from webapp.datasets.services import media_orphans_remove


class Command(BaseCommand):
    help = "List (or with --delete, remove) dataset media files that no row owns."

    def add_arguments(self, parser):
        parser.add_argument("--delete", action="store_true", help="remove them (default: only list them)")
        parser.add_argument("--stale-after", type=float, default=3600, metavar="SECONDS",
                            help="leave staging folders younger than this alone: an import may be writing there")

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
