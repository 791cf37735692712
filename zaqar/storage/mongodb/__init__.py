"""The MongoDB data driver.

Four collections hold everything (see :mod:`.schema` for the documents and
indexes): ``queues`` (name and metadata), ``counters`` (each queue's marker
counter, which outlives the queue), ``messages`` and ``claims``.

MongoDB makes each single-document write atomic and nothing more (the driver
uses no multi-document transactions, so it also runs on a standalone
server). Every multi-request promise of the storage contract therefore rests
on one of three single-document tools, each argued where it is used:

* a unique index on ``(project, queue, marker)`` plus a compare-and-set on the
  queue's counter document, for markers and atomic posts (:mod:`.counters`);
* conditional updates that re-check a message's claim state, for claims, pops
  and dead-letter moves (:mod:`.claims`, :mod:`.messages`);
* compare-and-set on the stored metadata text (:mod:`.queues`).
"""
