"""The Redis driver: every queue, message and claim in one Redis database.

Each operation is one server-side Lua script (the files of ``lua/``, each
run by one method of ``scripts.Scripts``), so posts, claims, releases, pops
and deletes are atomic across the threads and worker processes that share
the server. Time comes from the driver's clock, never from Redis; expired
data is hidden on read and reclaimed by ``gc()``.
"""
