from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from webapp.operations.backup import BackupError, backup_restore


class Command(BaseCommand):
    help = ("Restore an archive written by `backup` into this data folder (migrates first). Refuses a database "
            "that has users, teams or datasets unless --force, which replaces everything in it.")

    def add_arguments(self, parser):
        parser.add_argument("archive", type=Path)
        parser.add_argument("--force", action="store_true", help="empty a non-empty database first")

    def handle(self, *args, archive, force, **options):
        if not archive.is_file():
            raise CommandError(f"No archive at {archive}.")
        try:
            manifest = backup_restore(archive=archive, force=force)
        except BackupError as error:
            raise CommandError(str(error))
        self.stdout.write(self.style.SUCCESS(
            f"Restored the database and {len(manifest['files'])} files from {archive} "
            f"(made {manifest['created_at']})."))
