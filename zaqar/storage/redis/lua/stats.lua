-- Count the queue's live messages and find its oldest and newest
-- (Scripts.stats). No arguments after ARGV[4].
-- Returns {free, claimed, oldest, newest}, where oldest and newest are
-- {id, created} or {} when none was found within the budget.
catch_up(Q, false)
local total = redis.call('ZCOUNT', Q.expiry, '(' .. num(NOW), '+inf')
-- Only while expired claims wait to be retired can ``h`` hold more.
local claimed = math.min(redis.call('ZCARD', Q.held), total)

-- The live member with the lowest (or highest) marker of one sorted set,
-- removing the expired ones before it, if it beats ``beat`` (nil: any).
-- Returns 'found', id, marker, record; 'none'; or 'unknown' when the
-- budget ran out first.
local function end_of(key, reverse, beat, stop_at)
  local command = 'ZRANGE'
  if reverse then
    command = 'ZREVRANGE'
  end
  while true do
    -- Everything examined before is gone: start from the end again.
    local batch = redis.call(command, key, 0, SCAN_BATCH - 1, 'WITHSCORES')
    for i = 1, #batch, 2 do
      local marker = tonumber(batch[i + 1])
      if beat and (marker < beat) == reverse then
        return 'none'
      end
      if spent >= stop_at then
        return 'unknown'
      end
      spend(1)
      local m = live_at(Q, batch[i], marker)
      if m then
        return 'found', batch[i], marker, m
      end
    end
    if #batch < 2 * SCAN_BATCH then
      return 'none'
    end
  end
end

-- The oldest (or newest) live message, looking no further than ``stop_at``.
local function end_message(reverse, stop_at)
  local best, best_marker, best_m = nil, nil, nil
  for _, key in ipairs({Q.free, Q.delayed, Q.held}) do
    local outcome, id, marker, m = end_of(key, reverse, best_marker, stop_at)
    if outcome == 'unknown' then
      return {}
    end
    if outcome == 'found' then
      best, best_marker, best_m = id, marker, m
    end
  end
  if not best then
    return {}
  end
  return {best, num(best_m.created)}
end

-- Half of what is left for each end: the newest is usually found at once.
local oldest = end_message(false, spent + (BUDGET - spent) / 2)
local newest = end_message(true, BUDGET)
return {total - claimed, claimed, oldest, newest}
