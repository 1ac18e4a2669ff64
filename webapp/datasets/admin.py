from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html, format_html_join

from webapp.datasets import selectors, services
from webapp.datasets.forms import DatasetImportForm
from webapp.datasets.models import Dataset, Image, Label, Split


class LabelInline(admin.TabularInline):
    model = Label
    fields = ("name", "image_count")
    readonly_fields = ("image_count",)
    extra = 0
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(image_count=Count("images"))

    @admin.display(description="Images")
    def image_count(self, obj):
        return getattr(obj, "image_count", 0)


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ("name", "team", "classes", "image_count", "train_count", "validation_count", "test_count",
                    "created_at")
    list_select_related = ("team",)
    list_filter = ("team",)
    search_fields = ("name", "description")
    readonly_fields = ("counts_table", "created_by", "created_at")
    fields = ("name", "team", "description", "counts_table", "created_by", "created_at")
    inlines = [LabelInline]

    def get_queryset(self, request):
        return selectors.datasets_with_counts(super().get_queryset(request))

    @admin.display(description="Classes (images)")
    def classes(self, obj):
        return format_html_join(", ", "{} ({})", ((label.name, label.image_count) for label in obj.class_counts))

    @admin.display(description="Images", ordering="image_count")
    def image_count(self, obj):
        return obj.image_count

    @admin.display(description="Train", ordering="train_count")
    def train_count(self, obj):
        return obj.train_count

    @admin.display(description="Validation", ordering="validation_count")
    def validation_count(self, obj):
        return obj.validation_count

    @admin.display(description="Test", ordering="test_count")
    def test_count(self, obj):
        return obj.test_count

    @admin.display(description="Counts per class and split")
    def counts_table(self, obj):
        if obj.pk is None:
            return "-"
        counts = selectors.dataset_counts(obj)
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((c["name"], c["train"], c["validation"], c["test"], c["total"]) for c in counts["classes"]),
        )
        warning = format_html(
            "<p><strong>Class imbalance:</strong> largest class {} &gt; 3 x smallest {}.</p>",
            counts["largest"], counts["smallest"],
        ) if counts["imbalanced"] else ""
        return format_html(
            "<table><thead><tr><th>Class</th><th>Train</th><th>Validation</th><th>Test</th><th>Total</th></tr>"
            "</thead><tbody>{}</tbody><tfoot><tr><th>All</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>"
            "</tfoot></table>{}",
            rows, counts["splits"]["train"], counts["splits"]["validation"], counts["splits"]["test"],
            counts["total"], warning,
        )

    def save_model(self, request, obj, form, change):
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        for label in formset.deleted_objects:
            services.label_delete(label=label)  # with its images' files
        for instance in instances:
            instance.save()
        formset.save_m2m()

    def delete_model(self, request, obj):
        services.dataset_delete(dataset=obj)

    def delete_queryset(self, request, queryset):
        for dataset in queryset:
            services.dataset_delete(dataset=dataset)

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_zip_view), name="datasets_dataset_import"),
            *super().get_urls(),
        ]

    def import_zip_view(self, request):
        if not self.has_add_permission(request):
            return redirect("admin:datasets_dataset_changelist")
        form = DatasetImportForm(request.POST or None, request.FILES or None, user=request.user)
        rejected = None
        if request.method == "POST" and form.is_valid():
            try:
                result = services.dataset_import_zip(user=request.user, **form.import_kwargs())
            except services.ImportRejected as exc:
                rejected = exc
            else:
                self._report(request, result)
                return redirect("admin:datasets_dataset_change", result.dataset.pk)
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "form": form, "rejected": rejected,
            "title": "Import a dataset from a zip", "expected_layouts": services.EXPECTED_LAYOUTS,
        }
        return TemplateResponse(request, "admin/datasets/dataset/import_zip.html", context,
                                status=400 if rejected else 200)

    def _report(self, request, result):
        added = "; ".join(
            f"{name}: " + ", ".join(f"{split} {n}" for split, n in per.items())
            for name, per in result.as_dict()["added"].items()
        )
        self.message_user(request, f"Added {result.total_added} image{pluralize(result.total_added)} ({added}); "
                          f"{result.duplicates} duplicate{pluralize(result.duplicates)} skipped.", messages.SUCCESS)
        if result.rejected:
            shown = "; ".join(f"{name}: {reason}" for name, reason in result.rejected[:20])
            self.message_user(request, f"Rejected {len(result.rejected)} file{pluralize(result.rejected)}: {shown}",
                              messages.WARNING)


class LabelListFilter(admin.RelatedFieldListFilter):
    """Classes named with their dataset ("pets / cats"), narrowed to the dataset filtered on."""

    def field_choices(self, field, request, model_admin):
        labels = Label.objects.select_related("dataset").order_by("dataset__name", "name")
        dataset_id = request.GET.get("dataset__id__exact")
        if dataset_id and dataset_id.isdigit():
            labels = labels.filter(dataset_id=dataset_id)
        return [(label.pk, f"{label.dataset.name} / {label.name}") for label in labels]


class RelabelForm(forms.Form):
    label = forms.ModelChoiceField(queryset=Label.objects.none(), label="New class")

    def __init__(self, *args, dataset_id, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["label"].queryset = Label.objects.filter(dataset_id=dataset_id).order_by("name")


def _move_action(split: str):
    def action(modeladmin, request, queryset):
        count = services.images_move_to_split(images=queryset, split=split, user=request.user)
        modeladmin.message_user(request, f"Moved {count} image{pluralize(count)} to {split}.", messages.SUCCESS)

    action.__name__ = f"move_to_{split}"
    return admin.action(description=f"Move selected images to {split}")(action)


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ("thumb", "__str__", "dataset", "label", "split", "width", "height", "added_at")
    list_display_links = ("thumb", "__str__")
    list_select_related = ("dataset", "label")
    list_filter = ("dataset", ("label", LabelListFilter), "split", "excluded", "flagged")
    search_fields = ("original_name", "content_hash", "label__name", "dataset__name")
    list_per_page = 100
    show_full_result_count = False  # one COUNT less on large tables
    actions = ["relabel", *(_move_action(split) for split in Split.values), "delete_selected"]
    fields = ("preview", "dataset", "label", "split", "excluded", "flagged", "original_name", "file", "thumbnail", "content_hash",
              "width", "height", "added_by", "added_at")
    readonly_fields = ("preview", "dataset", "original_name", "file", "thumbnail", "content_hash", "width",
                       "height", "added_by", "added_at")

    def has_add_permission(self, request):
        return False  # photos come in through the imports (Datasets > Import a zip, or the dataset pages)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "label":
            obj_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
            dataset_id = Image.objects.filter(pk=obj_id).values_list("dataset_id", flat=True).first()
            kwargs["queryset"] = Label.objects.filter(dataset_id=dataset_id).order_by("name")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="Thumbnail")
    def thumb(self, obj):
        return format_html('<img src="{}" width="64" height="64" style="object-fit:cover" alt="" loading="lazy">',
                           obj.thumbnail_url)

    @admin.display(description="Preview")
    def preview(self, obj):
        return format_html('<a href="{}"><img src="{}" alt="thumbnail"></a>', obj.file.url, obj.thumbnail_url)

    def save_model(self, request, obj, form, change):
        """Changes go through the services, which record them in the photo's history."""
        if not change:
            return super().save_model(request, obj, form, change)
        one = Image.objects.filter(pk=obj.pk)
        if "label" in form.changed_data and obj.label is None:  # back to the unlabelled pool
            services.images_unlabel(images=one, label=Label.objects.get(pk=form.initial["label"]), user=request.user)
        elif "label" in form.changed_data:
            services.images_relabel(images=one, label=obj.label, user=request.user)
        if "split" in form.changed_data:
            services.images_move_to_split(images=one, split=obj.split, user=request.user)
        if "excluded" in form.changed_data:
            (services.images_exclude if obj.excluded else services.images_include)(images=one, user=request.user)
        if "flagged" in form.changed_data:
            (services.images_flag if obj.flagged else services.images_unflag)(images=one, user=request.user)

    def delete_model(self, request, obj):
        services.images_delete(images=Image.objects.filter(pk=obj.pk), user=request.user)

    def delete_queryset(self, request, queryset):
        services.images_delete(images=queryset, user=request.user)

    @admin.action(description="Move selected images to another class")
    def relabel(self, request, queryset):
        dataset_ids = list(queryset.order_by().values_list("dataset_id", flat=True).distinct()[:2])
        if len(dataset_ids) != 1:
            self.message_user(request, "Select images of one dataset to relabel them.", messages.ERROR)
            return None
        form = RelabelForm(request.POST if "apply" in request.POST else None, dataset_id=dataset_ids[0])
        if form.is_valid():
            count = services.images_relabel(images=queryset, label=form.cleaned_data["label"],
                                            user=request.user)
            self.message_user(request, f"Moved {count} image{pluralize(count)} to class {form.cleaned_data['label']}.",
                              messages.SUCCESS)
            return None
        return render(request, "admin/datasets/image/relabel.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
            "images": queryset, "count": queryset.count(), "title": "Move images to another class",
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        })

