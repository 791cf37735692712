-- Composed into the subscription scripts and gc.lua.
--
-- A source's subscriptions live under its queue tag (see queue_keys): the
-- source is a queue (or topic) name, and the queue need not exist. A
-- subscription record (MessagePack) is the array ``subscriber, ttl,
-- updated, expires, options, confirmed``: updated is when its TTL last
-- (re)started, options its JSON text, confirmed 1 or 0. ``u`` maps each
-- subscriber to the id of the one subscription that has it, live or not
-- yet collected: creating or updating checks it, so a source never has
-- two live subscriptions with one subscriber.

local function decode_subscription(packed)
  local r = cmsgpack.unpack(packed)
  return {
    subscriber = r[1], ttl = r[2], updated = r[3], expires = r[4],
    options = r[5], confirmed = r[6],
  }
end

local function encode_subscription(s)
  return cmsgpack.pack({
    s.subscriber, s.ttl, s.updated, s.expires, s.options, s.confirmed,
  })
end

-- The record of subscription ``id``, expired or not, or nil.
local function load_subscription(q, id)
  local packed = redis.call('HGET', q.subscriptions, id)
  if not packed then
    return nil
  end
  return decode_subscription(packed)
end

-- The record of subscription ``id`` if it is live, or nil.
local function live_subscription(q, id)
  local s = load_subscription(q, id)
  if s and s.expires > NOW then
    return s
  end
  return nil
end

-- Store a subscription's record, keeping its expiry where gc() finds it.
local function save_subscription(q, id, s)
  redis.call('HSET', q.subscriptions, id, encode_subscription(s))
  redis.call('ZADD', q.subscription_expiry, num(s.expires), id)
  due_at(q, s.expires)
end

-- What the driver turns into a Subscription.
local function subscription_view(id, s)
  return {id, s.subscriber, s.ttl, num(s.updated), s.options, s.confirmed}
end

-- Free ``subscriber`` for other subscriptions if subscription ``id`` has
-- it; when another one has it, that one keeps it.
local function release_subscriber(q, id, subscriber)
  if redis.call('HGET', q.subscribers, subscriber) == id then
    redis.call('HDEL', q.subscribers, subscriber)
  end
end

-- Remove subscription ``id`` from every key; ``s`` is its record (nil
-- when the record is gone: then only the indexes hold the id).
local function remove_subscription(q, id, s)
  redis.call('HDEL', q.subscriptions, id)
  redis.call('ZREM', q.subscription_ids, id)
  redis.call('ZREM', q.subscription_expiry, id)
  if s then
    release_subscriber(q, id, s.subscriber)
  end
end

-- The id and record of the live subscription that has ``subscriber``, or
-- nil. An expired one that has it is removed on the way: it must not block
-- a new one.
local function holder_of(q, subscriber)
  local id = redis.call('HGET', q.subscribers, subscriber)
  if not id then
    return nil
  end
  local s = load_subscription(q, id)
  if s and s.expires > NOW then
    return id, s
  end
  remove_subscription(q, id, s)
  -- Also when the record was gone and only this entry named the id.
  redis.call('HDEL', q.subscribers, subscriber)
  return nil
end

-- Remove up to ``limit`` expired subscriptions; returns how many.
local function sweep_expired_subscriptions(q, limit)
  local expired = redis.call('ZRANGEBYSCORE', q.subscription_expiry, '-inf',
                             num(NOW), 'LIMIT', 0, limit)
  local removed = 0
  for _, id in ipairs(expired) do
    local s = load_subscription(q, id)
    remove_subscription(q, id, s)
    if s then
      removed = removed + 1
    end
  end
  return removed
end
