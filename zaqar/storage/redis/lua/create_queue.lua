-- Create the queue unless it exists (Scripts.create_queue).
-- ARGV[5] its metadata (JSON), ARGV[6] to ARGV[8] its dead-letter policy
-- (see _dead_letter.lua).
-- Returns 1 if created, 0 if it existed.
local metadata = ARGV[5]
local policy = policy_argument(6)
if redis.call('ZADD', NAMES, 'NX', 0, QUEUE) == 0 then
  return 0
end
redis.call('HSET', METADATA, QUEUE, metadata)
if policy then
  save_policy(QUEUE, policy)
end
return 1
