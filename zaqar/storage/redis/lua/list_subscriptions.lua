-- List the source's live subscriptions by id (Scripts.list_subscriptions);
-- ARGV[3] is the source.
-- ARGV[5] the id to list after (empty: from the start), ARGV[6] how many
-- subscriptions at most.
-- Returns {1 if every id after ARGV[5] was examined (else 0), the last id
-- examined (empty: none), {view, ...}}; it stops after ARGV[6] live ones
-- or BUDGET ids.
local after = ARGV[5]
local limit = tonumber(ARGV[6])
local min = '-'
if after ~= '' then
  min = '(' .. after
end
local batch = math.min(math.max(limit, 100), BUDGET)
local found = {}
local last = ''
while true do
  local ids = redis.call('ZRANGEBYLEX', Q.subscription_ids, min, '+',
                         'LIMIT', 0, batch)
  for _, id in ipairs(ids) do
    if #found >= limit or exhausted() then
      return {0, last, found}
    end
    spend(1)
    last = id
    local s = live_subscription(Q, id)
    if s then
      found[#found + 1] = subscription_view(id, s)
    end
  end
  if #ids < batch then
    return {1, last, found}
  end
  min = '(' .. ids[#ids]
end
