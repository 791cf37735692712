-- Read a live subscription (Scripts.get_subscription); ARGV[3] is the
-- source.
-- ARGV[5] the subscription id.
-- Returns its view (see subscription_view), or {} when it is not live.
local s = live_subscription(Q, ARGV[5])
if not s then
  return {}
end
return subscription_view(ARGV[5], s)
