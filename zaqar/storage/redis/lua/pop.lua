-- Remove and return the oldest unclaimed messages (Scripts.pop); delayed
-- messages are popped too (see the contract).
-- ARGV[5] how many messages at most.
-- Returns the views of the popped messages, in marker order.
local limit = tonumber(ARGV[5])
local popped = {}
if limit <= 0 then
  return popped
end
local retired_all = catch_up(Q, false)
local sources = {Q.free, Q.delayed}
if not retired_all then
  sources[#sources + 1] = Q.held
end
scan(sources, nil, '+inf', function(id, marker)
  -- Expired ones stepped over go too, so that no pop meets them again.
  local m = live_at(Q, id, marker)
  if m and not is_claimed(m) then
    popped[#popped + 1] = view(id, m)
    remove_message(Q, id, m)
  end
  return #popped >= limit
end)
return popped
