"""Importing other platforms' events: a document split into records with their positions
(documents.py), each record mapped to a Profile Store event by its platform's table
(mappings.py, the tables of docs/formats.md), and stored as Track stores events
(service.py).
"""
