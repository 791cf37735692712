-- Release a claim: its messages become claimable at once
-- (Scripts.release_claim). Works from the claim's message set, which
-- outlives the claim's expiry and gc(): releasing never depends on whether
-- gc ran.
-- ARGV[5] the claim id.
local claim_id = ARGV[5]
local set = claim_set_key(Q, claim_id)
for _, id in ipairs(redis.call('SMEMBERS', set)) do
  local m = load_message(Q, id)
  if m and m.claim == claim_id then
    m.claim = ''
    m.claim_expires = 0
    save_message(Q, m)
    unhold(Q, id)
  end
end
redis.call('DEL', set)
redis.call('HDEL', Q.claims, claim_id)
redis.call('ZREM', Q.claim_expiry, claim_id)
return 0
