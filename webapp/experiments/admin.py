from django.contrib import admin

from webapp.experiments.models import EpochMetric, Evaluation, ExtractionChunk, Prediction, TrainingJob
from webapp.experiments.services import job_cancel


class EpochMetricInline(admin.TabularInline):
    model = EpochMetric
    extra = 0
    can_delete = False
    readonly_fields = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"]

    def has_add_permission(self, request, obj=None):
        return False


class EvaluationInline(admin.TabularInline):
    model = Evaluation
    extra = 0
    can_delete = False
    fields = readonly_fields = ["dataset", "status", "is_job_test_split", "accuracy", "macro_f1", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(TrainingJob)
class TrainingJobAdmin(admin.ModelAdmin):
    list_display = ["id", "dataset", "backbone", "weights", "status", "progress_done", "progress_total",
                    "created_by", "created_at", "finished_at"]
    list_filter = ["status", "backbone", "weights"]
    search_fields = ["dataset__name", "error_message", "worker"]
    readonly_fields = [f.name for f in TrainingJob._meta.fields]
    inlines = [EpochMetricInline, EvaluationInline]
    actions = ["cancel_jobs"]

    def has_add_permission(self, request):
        return False  # jobs are made by job_create (it snapshots the images and enqueues the task)

    @admin.action(description="Cancel the selected jobs")
    def cancel_jobs(self, request, queryset):
        for job in queryset:
            job_cancel(job=job)


@admin.register(ExtractionChunk)
class ExtractionChunkAdmin(admin.ModelAdmin):
    list_display = ["job", "index", "status", "worker", "extracted", "seconds"]
    list_filter = ["status"]
    readonly_fields = [f.name for f in ExtractionChunk._meta.fields]


@admin.register(Evaluation)
class EvaluationAdmin(admin.ModelAdmin):
    list_display = ["id", "job", "dataset", "status", "accuracy", "macro_f1", "created_at"]
    list_filter = ["status"]
    readonly_fields = [f.name for f in Evaluation._meta.fields]


@admin.register(Prediction)
class PredictionAdmin(admin.ModelAdmin):
    list_display = ["id", "job", "original_name", "status", "label", "confidence", "latency_ms", "created_at"]
    list_filter = ["status"]
    readonly_fields = [f.name for f in Prediction._meta.fields]
