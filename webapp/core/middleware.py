"""Response headers and error bodies that every page and API answer share."""

from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse

API_PREFIX = "/api/"


class ContentSecurityPolicyMiddleware:
    """Sends settings.CONTENT_SECURITY_POLICY: scripts only from our own static files (no inline script, no eval),
    so an injected <script> or on* attribute does not run."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response


class ApiJsonErrorsMiddleware:
    """Under /api/ every error is JSON (`{"error": ...}`), whoever produced it: a missing route (404), a wrong
    method (405), a body over DATA_UPLOAD_MAX_MEMORY_SIZE (413), a server error (500, still logged)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith(API_PREFIX) or response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        json_response = JsonResponse({"error": HTTPStatus(response.status_code).phrase + "."},
                                     status=response.status_code)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                json_response[header] = response[header]
        return json_response

    def process_exception(self, request, exception):
        if request.path.startswith(API_PREFIX) and isinstance(exception, RequestDataTooBig):
            limit_mib = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 2**20
            return JsonResponse({"error": f"The request's fields are larger than {limit_mib:g} MiB (files are sent "
                                          "as multipart file parts)."}, status=413)
        return None
