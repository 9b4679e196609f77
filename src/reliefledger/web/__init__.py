"""The dashboard: server-rendered pages (FastAPI, Jinja2, htmx) with Apache ECharts served from
the package, in Chinese by default and in English on request."""
