"""The stores: the id map, dead letters, run summaries and the run lock, on files, SQLite or
PostgreSQL.
"""
