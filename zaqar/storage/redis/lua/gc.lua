-- Collect garbage (Scripts.gc); ARGV[2] and ARGV[3] are empty.
-- ARGV[5] the budget.
-- Visits the queues whose earliest expiry has passed, removing at most
-- the budget of messages and retiring at most the budget of claims. Returns
-- {messages removed, claims retired, queues visited, 1 if more is due}.
-- Every visit makes progress (a queue with nothing expired left is
-- rescheduled to its next expiry or leaves ``due``), so the driver calls
-- again while a call visited some queue and more is due.
local budget = tonumber(ARGV[5])

local function reschedule(q)
  local next_time = nil
  for _, key in ipairs({q.expiry, q.claim_expiry}) do
    local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    if first[2] then
      local when = tonumber(first[2])
      if not next_time or when < next_time then
        next_time = when
      end
    end
  end
  if next_time then
    redis.call('ZADD', DUE, num(next_time), q.tag)
  else
    redis.call('ZREM', DUE, q.tag)
  end
end

local messages, claims, visited = 0, 0, 0
local tags = redis.call('ZRANGEBYSCORE', DUE, '-inf', num(NOW), 'LIMIT', 0, budget)
for _, tag in ipairs(tags) do
  if messages >= budget or claims >= budget then
    break
  end
  local q = queue_keys(tag)
  claims = claims + retire_expired_claims(q, budget - claims, math.huge)
  messages = messages + sweep_expired(q, budget - messages)
  reschedule(q)
  visited = visited + 1
end
local more = 0
if redis.call('ZCOUNT', DUE, '-inf', num(NOW)) > 0 then
  more = 1
end
return {messages, claims, visited, more}
