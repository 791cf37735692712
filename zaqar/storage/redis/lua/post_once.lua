-- Post messages at most once per idempotency key (Scripts.post_once).
-- ARGV[5] the client id, ARGV[6] how many expired messages and keys to
-- remove in passing, ARGV[7] the key, ARGV[8] the request's fingerprint,
-- ARGV[9] the window in seconds, ARGV[10] the new message ids packed (16
-- bytes each), then the messages packed in three arguments as for post.lua.
-- Returns {0, ''} when it posted; {1, the first post's packed ids in hex}
-- when the key is remembered with this fingerprint, and {2, ''} when with
-- another one: then nothing was written. (Hex, because a client made with
-- decode_responses would fail to decode binary replies.)
--
-- One script: the lookup, the messages and the key's record are one
-- atomic step, and a concurrent post with the key runs before or after it,
-- never in between.
local key = ARGV[7]
local fingerprint = ARGV[8]
local packed = redis.call('HGET', Q.idempotency, key)
if packed then
  local found = decode_key_record(packed)
  -- An expired record is forgotten, whether or not gc() removed it.
  if found.expires > NOW then
    if found.fingerprint ~= fingerprint then
      return {2, ''}
    end
    return {1, (found.ids:gsub('.', function(c)
      return string.format('%02x', c:byte())
    end))}
  end
end
local sweep_limit = tonumber(ARGV[6])
sweep_expired_keys(Q, sweep_limit)
post_messages(ARGV[5], sweep_limit, 11)
local expires = NOW + tonumber(ARGV[9])
redis.call('HSET', Q.idempotency, key, encode_key_record({
  fingerprint = fingerprint, expires = expires, ids = ARGV[10],
}))
redis.call('ZADD', Q.idempotency_expiry, num(expires), key)
due_at(Q, expires)
return {0, ''}
