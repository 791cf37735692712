-- List live messages after a marker, in marker order (Scripts.list_messages).
-- ARGV[5] the reader's client id, ARGV[6] the marker to list after (empty:
-- from the start), ARGV[7] how many messages at most, then '1' or '0' for
-- ARGV[8] echo (the reader's own messages too), ARGV[9] include claimed
-- messages and ARGV[10] include delayed ones.
-- Returns {views, 1 if the budget ran out before the page was full (else
-- 0), the marker to go on after (empty: from the start)}.
local client_id = ARGV[5]
local after = nil
if ARGV[6] ~= '' then
  after = ARGV[6]
end
local limit = tonumber(ARGV[7])
local echo = ARGV[8] == '1'
local include_claimed = ARGV[9] == '1'
local include_delayed = ARGV[10] == '1'
local found = {}
if limit <= 0 then
  return {found, 0, ''}
end
local retired_all, promoted_all = catch_up(Q, not include_delayed)
local sources = {Q.free}
if include_claimed or not retired_all then
  sources[#sources + 1] = Q.held
end
if include_delayed or not promoted_all then
  sources[#sources + 1] = Q.delayed
end
local last_seen = nil
scan(sources, after, '+inf', function(id, marker)
  last_seen = marker
  local m = live_at(Q, id, marker)
  if m
      and (include_claimed or not is_claimed(m))
      and (include_delayed or m.visible <= NOW)
      and (echo or m.client ~= client_id) then
    found[#found + 1] = view(id, m)
  end
  return #found >= limit
end)
-- Out of budget before the page was full: say where to go on from (every
-- entry up to last_seen was examined), so the driver calls again.
if #found < limit and exhausted() then
  if last_seen then
    return {found, 1, num(last_seen)}
  end
  return {found, 1, ARGV[6]}
end
return {found, 0, ''}
