from django.contrib import admin

from webapp.accounts.models import ApiToken, Membership


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "expires_at"]
    list_select_related = ["user"]
    search_fields = ["name", "user__username", "prefix"]
    readonly_fields = ["prefix", "key_hash", "created_at", "last_used_at"]

    def has_add_permission(self, request):
        return False  # keys are created by their owner on the API token page (shown once), not here


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Roles in teams. Being in a team is the user's Group; a Group member without a row here is a member."""

    list_display = ["user", "team", "role", "can_promote", "created_at"]
    list_filter = ["role", "team"]
    list_select_related = ["user", "team"]
    search_fields = ["user__username", "team__name"]
