"""The small library every app uses: ids from the outside world, pagination, form fields, middleware, text limits,
outbound calls to user-given URLs, the template context, and the abstract Work row of background work. No pages,
no urls, no concrete models (the home page: webapp.home; operations: webapp.operations)."""
