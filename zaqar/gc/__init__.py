"""Garbage collection: remove expired messages and claims from storage.

Reads already hide expired data; collecting only reclaims space. Drivers
make ``gc()`` safe to run from several processes at once, so no leader
election is needed.
"""
