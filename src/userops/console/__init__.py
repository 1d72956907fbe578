"""The web console: server-rendered pages (Jinja2 + htmx), charts with Apache ECharts, zh-CN and en.

``userops.console.app.mount`` installs it on the server's FastAPI app. Views only call domain
facades (``userops.customers.service``, ``userops.analytics.overview``, ``userops.auth.service``).
"""
