-- Collect garbage (Scripts.gc); ARGV[2] and ARGV[3] are empty.
-- ARGV[5] the budget.
-- Visits the queues whose earliest expiry has passed, removing at most
-- the budget of messages, retiring at most the budget of claims and
-- removing at most the budget of subscriptions and of idempotency keys.
-- Returns {messages removed, claims retired, subscriptions removed, keys
-- removed, queues visited, 1 if more is due}. Every visit makes progress
-- (a queue with nothing expired left is rescheduled to its next expiry or
-- leaves ``due``), so the driver calls again while a call visited some
-- queue and more is due.
local budget = tonumber(ARGV[5])

local messages, claims, subscriptions, keys, visited = 0, 0, 0, 0, 0
local tags = redis.call('ZRANGEBYSCORE', DUE, '-inf', num(NOW), 'LIMIT', 0, budget)
for _, tag in ipairs(tags) do
  if messages >= budget or claims >= budget or subscriptions >= budget
      or keys >= budget then
    break
  end
  local q = queue_keys(tag)
  claims = claims + retire_expired_claims(q, budget - claims, math.huge)
  messages = messages + sweep_expired(q, budget - messages)
  subscriptions = subscriptions
    + sweep_expired_subscriptions(q, budget - subscriptions)
  keys = keys + sweep_expired_keys(q, budget - keys)
  schedule(q)
  visited = visited + 1
end
local more = 0
if redis.call('ZCOUNT', DUE, '-inf', num(NOW)) > 0 then
  more = 1
end
return {messages, claims, subscriptions, keys, visited, more}
