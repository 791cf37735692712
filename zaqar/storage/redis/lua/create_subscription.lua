-- Create a subscription unless a live one of the source has its subscriber
-- (Scripts.create_subscription); ARGV[3] is the source.
-- ARGV[5] the new id, ARGV[6] the subscriber, ARGV[7] the TTL, ARGV[8] the
-- options (JSON).
-- Returns {} when created, else the view of the live subscription that
-- has the subscriber (see subscription_view).
local id = ARGV[5]
local subscriber = ARGV[6]
local ttl = tonumber(ARGV[7])
local holder, held = holder_of(Q, subscriber)
if holder then
  return subscription_view(holder, held)
end
save_subscription(Q, id, {
  subscriber = subscriber, ttl = ttl, updated = NOW, expires = NOW + ttl,
  options = ARGV[8], confirmed = 0,
})
redis.call('HSET', Q.subscribers, subscriber, id)
redis.call('ZADD', Q.subscription_ids, 0, id)
return {}
