-- Read a live claim (Scripts.get_claim).
-- ARGV[5] the claim id.
-- Returns {TTL, updated, views of its messages in marker order}, or nil
-- when the claim is not live or holds no live message.
local claim, held = live_claim(Q, ARGV[5])
if not claim then
  return nil
end
local views = {}
for i, pair in ipairs(held) do
  views[i] = view(pair[1], pair[2])
end
return {claim.ttl, num(claim.updated), views}
