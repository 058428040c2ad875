"""Ratings and tables built from plain match records.

This package works on the records handed to it (mappings with the keys documented in
``arena.records``) and imports nothing from ``arena``.
"""
