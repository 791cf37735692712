-- Renew a live claim from now, extending short-lived messages
-- (Scripts.update_claim).
-- ARGV[5] the claim id, ARGV[6] its new TTL, ARGV[7] the grace.
-- Returns 1 when renewed, 0 when the claim does not exist.
local claim_id = ARGV[5]
local ttl = tonumber(ARGV[6])
local grace = tonumber(ARGV[7])
local claim, held = live_claim(Q, claim_id)
if not claim then
  return 0
end
local claim_expires = save_claim(Q, claim_id, ttl)
for _, pair in ipairs(held) do
  local m = pair[2]
  m.claim_expires = claim_expires
  extend_for_claim(Q, m, claim_expires, ttl, grace)
  save_message(Q, m)
end
return 1
