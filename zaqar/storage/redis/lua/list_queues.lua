-- List a project's queues by name (Scripts.list_queues); ARGV[3] is empty.
-- ARGV[5] the name to list after (empty: from the start), ARGV[6] how many
-- queues at most, ARGV[7] text the names must contain (empty: any), ARGV[8]
-- '1' to return each queue's metadata (JSON) or '0' for none.
-- Returns {1 if every name after ARGV[5] was examined (else 0), the last
-- name examined (empty: none), {name, metadata or '', ...}}; it stops after
-- ARGV[6] matches or BUDGET names.
local after = ARGV[5]
local limit = tonumber(ARGV[6])
local contains = ARGV[7]
local with_metadata = ARGV[8] == '1'
local min = '-'
if after ~= '' then
  min = '(' .. after
end
local batch = math.min(math.max(limit, 100), BUDGET)
local found = {}
local last = ''
while true do
  local names = redis.call('ZRANGEBYLEX', NAMES, min, '+', 'LIMIT', 0, batch)
  for _, name in ipairs(names) do
    if #found >= 2 * limit or exhausted() then
      return {0, last, found}
    end
    spend(1)
    last = name
    if contains == '' or string.find(name, contains, 1, true) then
      local metadata = ''
      if with_metadata then
        metadata = redis.call('HGET', METADATA, name) or '{}'
      end
      found[#found + 1] = name
      found[#found + 1] = metadata
    end
  end
  if #names < batch then
    return {1, last, found}
  end
  min = '(' .. names[#names]
end
