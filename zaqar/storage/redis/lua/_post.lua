-- Composed into post.lua and post_once.lua.

-- Store the messages given in ARGV from ``first_arg`` on, four per message
-- (its id, TTL, delay and body as JSON), with consecutive markers, for
-- ``client_id``. Creates the queue if needed and, so that memory does not
-- grow with expired data where no gc runs, removes up to ``sweep_limit``
-- of its expired messages in passing. Returns the queue's last marker.
local function post_messages(client_id, sweep_limit, first_arg)
  local count = (#ARGV - first_arg + 1) / 4
  ensure_queue(QUEUE)
  sweep_expired(Q, sweep_limit)
  local last = redis.call('HINCRBY', COUNTERS, QUEUE, count)
  local marker = last - count
  local earliest = nil
  for i = first_arg, #ARGV, 4 do
    marker = marker + 1
    local id = ARGV[i]
    local ttl = tonumber(ARGV[i + 1])
    local m = {
      marker = marker, ttl = ttl, created = NOW, expires = NOW + ttl,
      visible = NOW + tonumber(ARGV[i + 2]), client = client_id,
      claim = '', claim_expires = 0, claims = 0, body = ARGV[i + 3],
    }
    save_message(Q, m)
    add_unclaimed(Q, id, m)
    if not earliest or m.expires < earliest then
      earliest = m.expires
    end
  end
  if earliest then
    due_at(Q, earliest)
  end
  return last
end
