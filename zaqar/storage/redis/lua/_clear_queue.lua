-- Composed into purge.lua and delete_queue.lua.

-- Remove every message and claim of a queue (not its name, metadata,
-- dead-letter policy, counter or subscriptions: those expire on their own,
-- so gc() still visits the queue for them).
local function clear_queue(q)
  for _, claim_id in ipairs(redis.call('HKEYS', q.claims)) do
    redis.call('UNLINK', claim_set_key(q, claim_id))
  end
  redis.call('UNLINK', q.messages, q.free, q.delayed, q.waking, q.held,
             q.expiry, q.claims, q.claim_expiry)
  schedule(q)
end
