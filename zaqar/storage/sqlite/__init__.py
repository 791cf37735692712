"""The embedded SQLite driver: the zero-setup default store.

Uses only the standard library. Writers serialize on SQLite's database lock
(``BEGIN IMMEDIATE``), so counters, claims and pops are atomic across the
threads and processes that share the database file.
"""
