-- Claim the oldest claimable messages, moving those claimed too often to
-- the dead-letter queue (Scripts.create_claim).
-- ARGV[5] the new claim's id, ARGV[6] its TTL, ARGV[7] the grace its
-- messages live on after it ends, ARGV[8] how many messages at most.
-- Returns the views of the claimed messages, in marker order.
local claim_id = ARGV[5]
local ttl = tonumber(ARGV[6])
local grace = tonumber(ARGV[7])
local limit = tonumber(ARGV[8])
local claim_expires = NOW + ttl
if limit <= 0 then
  return {}
end
local retired_all, promoted_all = catch_up(Q, true)

local policy = load_policy(QUEUE)

-- Moved unclaimed, with a new marker from the dead-letter queue's counter,
-- no claims, and a TTL counted from now.
local function move_to_dead_letter_queue(id, m)
  remove_message(Q, id, m)
  ensure_queue(policy.queue)
  local dlq = queue_keys(queue_tag(PROJECT, policy.queue))
  if policy.ttl > 0 then
    m.ttl = policy.ttl
  end
  m.marker = redis.call('HINCRBY', COUNTERS, policy.queue, 1)
  m.expires = NOW + m.ttl
  m.visible = NOW
  m.claim = ''
  m.claim_expires = 0
  m.claims = 0
  save_message(dlq, m)
  add_unclaimed(dlq, id, m)
  due_at(dlq, m.expires)
end

-- Only messages that were in the queue when the claim began: a dead-letter
-- queue naming this queue re-posts moved messages at its tail.
local last = redis.call('HGET', COUNTERS, QUEUE) or '0'
local set = claim_set_key(Q, claim_id)
local taken = {}
local sources = {Q.free}
if not retired_all then
  sources[#sources + 1] = Q.held
end
if not promoted_all then
  sources[#sources + 1] = Q.delayed
end
scan(sources, nil, last, function(id, marker)
  local m = live_at(Q, id, marker)
  if m and not is_claimed(m) and m.visible <= NOW then
    if policy and m.claims >= policy.max_claims then
      move_to_dead_letter_queue(id, m)
    else
      if m.claim ~= '' then
        forget_claim_of(Q, id, m.claim)
      end
      m.claim = claim_id
      m.claim_expires = claim_expires
      m.claims = m.claims + 1
      extend_for_claim(Q, m, claim_expires, ttl, grace)
      save_message(Q, m)
      hold(Q, id, m)
      redis.call('SADD', set, id)
      taken[#taken + 1] = view(id, m)
    end
  end
  return #taken >= limit
end)
if #taken == 0 then
  return {}
end
save_claim(Q, claim_id, ttl)
return taken
