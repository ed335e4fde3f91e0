"""Reporting: the gap report and the action plan, as PDF and as HTML, and the secretariat's
membership brief of anonymised aggregates, as PDF.

`context` gathers what a report shows from the services (`brief` does for the membership
brief), `charts` draws its figures as SVG, `render` turns it into HTML and PDF with a cache,
`pool` runs WeasyPrint in worker processes under a time limit, `fetcher` lets a render load
nothing but the report's own assets, and `router` serves it all. Templates and print styles
live in the top-level `reports/` folder; `sample` builds a worked assessment for benchmarks
and tests. docs/reports.md has the rest.
"""
