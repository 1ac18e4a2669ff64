from pathlib import Path

from django.core.management.base import BaseCommand

from webapp.operations.backup import backup_create


class Command(BaseCommand):
    help = ("Write one archive of the database (portable JSON) and the files its rows own: photos, thumbnails, "
            "trained models; the feature cache with --features. Safe while the app runs.")

    def add_arguments(self, parser):
        parser.add_argument("archive", type=Path, help="e.g. menagerie-2026-01-31.tar.gz (.tar: uncompressed)")
        parser.add_argument("--features", action="store_true", help="also the feature cache (it can be rebuilt)")

    def handle(self, *args, archive, features, **options):
        manifest = backup_create(out=archive.resolve(), include_features=features)
        size = sum(f["size"] for f in manifest["files"].values())
        self.stdout.write(self.style.SUCCESS(
            f"Wrote {archive}: the database and {len(manifest['files'])} files ({size / 2**20:.1f} MiB)."))
        for name in manifest["missing"]:
            self.stderr.write(f"missing (deleted while the backup ran?): {name}")
