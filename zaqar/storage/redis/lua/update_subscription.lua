-- Change a live subscription (Scripts.update_subscription); ARGV[3] is the
-- source.
-- ARGV[5] the subscription id, ARGV[6] '1' to change the subscriber to
-- ARGV[7] (else '0'), ARGV[8] the new TTL (empty: keep it), ARGV[9] '1' to
-- replace the options with ARGV[10] (JSON; else '0').
-- Returns {'missing'} when the subscription is not live, {'exists', view}
-- when another live one has the new subscriber (nothing changed), else
-- {'ok'}.
local id = ARGV[5]
local s = live_subscription(Q, id)
if not s then
  return {'missing'}
end
local subscriber = ARGV[7]
if ARGV[6] == '1' and subscriber ~= s.subscriber then
  local holder, held = holder_of(Q, subscriber)
  if holder then
    return {'exists', subscription_view(holder, held)}
  end
  release_subscriber(Q, id, s.subscriber)
  redis.call('HSET', Q.subscribers, subscriber, id)
  s.subscriber = subscriber
end
if ARGV[8] ~= '' then
  s.ttl = tonumber(ARGV[8])
  s.updated = NOW
  s.expires = NOW + s.ttl
end
if ARGV[9] == '1' then
  s.options = ARGV[10]
end
save_subscription(Q, id, s)
return {'ok'}
