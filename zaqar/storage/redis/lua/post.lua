-- Post messages with consecutive markers (Scripts.post).
-- ARGV[5] the client id, ARGV[6] how many expired messages to remove in
-- passing, then four per message: its id, TTL, delay and body (JSON).
-- Returns the queue's last marker.
local client_id = ARGV[5]
local sweep_limit = tonumber(ARGV[6])
local first_arg = 7
local count = (#ARGV - first_arg + 1) / 4
ensure_queue(QUEUE)
-- Posting also clears a bounded batch of expired messages of the queue, so
-- that memory does not grow with expired data where no gc runs.
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
