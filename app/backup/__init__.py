"""Backup and restore of the embedded SQLite database (PostgreSQL uses pg_dump/pg_restore)."""
