"""The domain and the store: tables, settings, pure normalize/dedupe, and the one ingest path.

This package imports nothing of ``crawlers``, ``newsletter``, ``web`` or the frameworks
that drive them (Scrapy, FastAPI, Typer, APScheduler).
"""
