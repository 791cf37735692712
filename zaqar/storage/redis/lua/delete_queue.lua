-- Delete the queue with its messages and claims (Scripts.delete_queue).
-- The counter (n:<project>) stays: a re-created queue continues after the
-- last marker it ever gave out.
clear_queue(Q)
redis.call('ZREM', NAMES, QUEUE)
redis.call('HDEL', METADATA, QUEUE)
redis.call('HDEL', POLICIES, QUEUE)
return 0
