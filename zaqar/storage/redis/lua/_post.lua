-- Composed into post.lua and post_once.lua.

-- Values per redis.call of a batched write: unpack() fails beyond a few
-- thousand values, and a 256 KB post can hold ten thousand tiny messages.
-- Even, so that a field-value or score-member pair is never split.
local CALL_CHUNK = 1000

-- redis.call(command, key, values...) in as few calls as CALL_CHUNK allows.
local function call_batched(command, key, values)
  for first = 1, #values, CALL_CHUNK do
    local last = math.min(first + CALL_CHUNK - 1, #values)
    redis.call(command, key, unpack(values, first, last))
  end
end

-- The messages of a post, packed by Scripts.post into three arguments (one
-- argument per field of every message made Python encode and Redis parse
-- forty for a batch of ten): ``ids``, the ids side by side (32 hex digits
-- each); ``shape``, "TTL DELAY LENGTH" per message, space-separated; and
-- ``bodies``, the JSON bodies back to back, LENGTH bytes each.
local function unpack_messages(ids, shape, bodies)
  local messages = {}
  local at = 1
  for ttl, delay, length in string.gmatch(shape, '(%d+) (%d+) (%d+)') do
    local index = #messages + 1
    local size = tonumber(length)
    messages[index] = {
      id = string.sub(ids, index * 32 - 31, index * 32),
      ttl = tonumber(ttl), delay = tonumber(delay),
      body = string.sub(bodies, at, at + size - 1),
    }
    at = at + size
  end
  return messages
end

-- Store the messages packed in ARGV[first_arg] to ARGV[first_arg + 2] (see
-- unpack_messages) with consecutive markers, for ``client_id``. Creates the
-- queue if needed and, so that memory does not grow with expired data where
-- no gc runs, removes up to ``sweep_limit`` of its expired messages in
-- passing. Returns the queue's last marker.
local function post_messages(client_id, sweep_limit, first_arg)
  local posted = unpack_messages(ARGV[first_arg], ARGV[first_arg + 1],
                                 ARGV[first_arg + 2])
  ensure_queue(QUEUE)
  sweep_expired(Q, sweep_limit)
  local last = redis.call('HINCRBY', COUNTERS, QUEUE, #posted)
  -- One write per key for the whole batch, as add_unclaimed and
  -- save_message would do message by message.
  local records, free, delayed, waking, expiry = {}, {}, {}, {}, {}
  local earliest = nil
  for index, p in ipairs(posted) do
    local marker = num(last - #posted + index)
    local m = {
      marker = tonumber(marker), ttl = p.ttl, created = NOW, expires = NOW + p.ttl,
      visible = NOW + p.delay, client = client_id,
      claim = '', claim_expires = 0, claims = 0, body = p.body,
    }
    table.insert(records, marker)
    table.insert(records, encode(m))
    if m.visible > NOW then
      table.insert(delayed, marker)
      table.insert(delayed, p.id)
      table.insert(waking, num(m.visible))
      table.insert(waking, marker)
    else
      table.insert(free, marker)
      table.insert(free, p.id)
    end
    table.insert(expiry, num(m.expires))
    table.insert(expiry, marker)
    if not earliest or m.expires < earliest then
      earliest = m.expires
    end
  end
  call_batched('HSET', Q.messages, records)
  call_batched('ZADD', Q.free, free)
  call_batched('ZADD', Q.delayed, delayed)
  call_batched('ZADD', Q.waking, waking)
  call_batched('ZADD', Q.expiry, expiry)
  if earliest then
    due_at(Q, earliest)
  end
  return last
end
