"""The staff web app: server-rendered pages (Jinja2) on the same storage functions as the API."""
