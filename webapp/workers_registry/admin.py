from django.contrib import admin

from webapp.workers_registry.models import Worker


@admin.register(Worker)
class WorkerAdmin(admin.ModelAdmin):
    """Read-only: rows are written by the workers themselves."""

    list_display = ["name", "queues", "ready", "is_alive", "last_seen", "host", "pid", "backbones_with_weights",
                    "precision_speeds"]
    readonly_fields = [f.name for f in Worker._meta.fields]

    @admin.display(boolean=True)
    def is_alive(self, worker):
        return worker.is_alive

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
