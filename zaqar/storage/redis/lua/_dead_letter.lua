-- Composed into create_queue.lua, set_metadata.lua and create_claim.lua.
--
-- A queue's dead-letter policy: whether it has one, and what it says, is
-- decided in Python (by the rules of zaqar.common.queue_metadata), which
-- passes it as three ARGV values. ``p:<project>`` stores it as one string,
-- ``<max claims> <TTL or 0> <queue name>``; this file alone writes and
-- reads that form.

-- The policy passed as ARGV[first] (the claims after which a message is
-- moved; empty when the queue has no policy), ARGV[first + 1] (the TTL moved
-- messages get, 0 to keep their own) and ARGV[first + 2] (the dead-letter
-- queue), in its stored form; nil when there is none.
local function policy_argument(first)
  if ARGV[first] == '' then
    return nil
  end
  return ARGV[first] .. ' ' .. ARGV[first + 1] .. ' ' .. ARGV[first + 2]
end

-- Store (or, given nil, forget) the policy of ``queue``.
local function save_policy(queue, stored)
  if stored then
    redis.call('HSET', POLICIES, queue, stored)
  else
    redis.call('HDEL', POLICIES, queue)
  end
end

-- The policy of ``queue``: {max_claims, ttl, queue}, or nil.
local function load_policy(queue)
  local stored = redis.call('HGET', POLICIES, queue)
  if not stored then
    return nil
  end
  local max_claims, ttl, queue_name = string.match(stored, '^(%S+) (%S+) (.*)$')
  return {max_claims = tonumber(max_claims), ttl = tonumber(ttl), queue = queue_name}
end
