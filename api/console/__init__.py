"""The web console: server-rendered pages (Jinja2 + htmx) for duty staff, families, inspectors
and administrators, in Chinese and English, served by the API under ``/console``.

Pages call the same service functions as the API routes, with the principal from the API's
own dependency, so scope is enforced exactly as the API enforces it. ``install(app)`` adds the
pages and their static files to an app.
"""
