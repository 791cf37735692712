-- Set whether a live subscription is confirmed
-- (Scripts.confirm_subscription); ARGV[3] is the source.
-- ARGV[5] the subscription id, ARGV[6] '1' (confirmed) or '0'.
-- Returns 1 if it was set, 0 when the subscription is not live.
local id = ARGV[5]
local s = live_subscription(Q, id)
if not s then
  return 0
end
s.confirmed = tonumber(ARGV[6])
save_subscription(Q, id, s)
return 1
