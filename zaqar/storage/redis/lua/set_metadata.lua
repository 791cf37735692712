-- Replace the queue's metadata, if it is still the expected text
-- (Scripts.set_metadata).
-- ARGV[5] the new metadata (JSON), ARGV[6] to ARGV[8] its dead-letter
-- policy (see _dead_letter.lua), ARGV[9] '1' to compare or '0' to write
-- unconditionally, ARGV[10] the expected metadata (JSON) when comparing.
-- Returns {'missing'}, {'conflict', stored} or {'ok'}. The comparison is of
-- JSON texts; the driver retries with the stored text when the two texts
-- mean the same metadata.
local metadata = ARGV[5]
local policy = policy_argument(6)
local compare = ARGV[9] == '1'
local expected = ARGV[10]
local stored = redis.call('HGET', METADATA, QUEUE)
if not stored then
  return {'missing'}
end
if compare and stored ~= expected then
  return {'conflict', stored}
end
redis.call('HSET', METADATA, QUEUE, metadata)
save_policy(QUEUE, policy)
return {'ok'}
