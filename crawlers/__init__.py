"""The Scrapy project and the per-format parsers: fetch, detect, parse, hand to ingest."""
