-- Delete a subscription, live or expired (Scripts.delete_subscription);
-- ARGV[3] is the source.
-- ARGV[5] the subscription id.
local id = ARGV[5]
local s = load_subscription(Q, id)
if s then
  remove_subscription(Q, id, s)
end
return 0
