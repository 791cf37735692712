-- Composed into post_once.lua and gc.lua.
--
-- The idempotency keys of a queue live under its tag (see queue_keys),
-- apart from its messages, so that purging or deleting the queue keeps
-- them, as the contract wants: ``i`` maps each key to its record, ``j``
-- holds the keys by expiry time, for gc(). A record (MessagePack) is the
-- array ``fingerprint, expires, ids``: the request's digest, when the key
-- is forgotten, and the ids of the post, 16 bytes each.

local function decode_key_record(packed)
  local r = cmsgpack.unpack(packed)
  return {fingerprint = r[1], expires = r[2], ids = r[3]}
end

local function encode_key_record(record)
  return cmsgpack.pack({record.fingerprint, record.expires, record.ids})
end

-- Remove up to ``limit`` expired keys; returns how many were removed.
local function sweep_expired_keys(q, limit)
  local expired = redis.call('ZRANGEBYSCORE', q.idempotency_expiry, '-inf',
                             num(NOW), 'LIMIT', 0, limit)
  if #expired > 0 then
    redis.call('HDEL', q.idempotency, unpack(expired))
    redis.call('ZREM', q.idempotency_expiry, unpack(expired))
  end
  spend(#expired)
  return #expired
end
