"""Server-rendered pages (Jinja, GOV.UK Frontend) over the same domain code as the API."""
