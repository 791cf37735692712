-- Composed first into every script, after one line scripts.py adds:
-- ``local BUDGET = <entries one call examines at most>``. The docstring of
-- scripts.py describes the key layout and what BUDGET bounds.
--
-- Every script receives the same first four arguments, unpacked here:
-- ARGV[1] the key namespace, ARGV[2] the project, ARGV[3] the queue name
-- (empty for a script about a project or every queue) and ARGV[4] "now",
-- the driver's clock in seconds (never Redis TIME). What follows ARGV[4]
-- is the script's own, named at the top of its file.

local NS = ARGV[1]
local PROJECT = ARGV[2]
local QUEUE = ARGV[3]
local NOW = tonumber(ARGV[4])
local DUE = NS .. ':due'
-- Members fetched per ZRANGEBYSCORE while scanning a queue in marker order.
local SCAN_BATCH = 100
-- What retiring claims and promoting delayed messages may spend at most.
local CATCH_UP = BUDGET / 2
-- What removing a message adds to the budget spent examining it.
local REMOVAL_COST = 3

-- Entries examined so far by this call.
local spent = 0

local function spend(count)
  spent = spent + count
end

local function exhausted()
  return spent >= BUDGET
end

-- redis.call() would format a Lua number with 14 significant digits, losing
-- sub-millisecond precision of timestamps; 17 digits round-trip exactly.
local function num(value)
  return string.format('%.17g', value)
end

local function project_key(kind, project)
  return NS .. ':' .. kind .. ':' .. project
end

local function queue_tag(project, queue)
  return #project .. ':' .. project .. ':' .. queue
end

local function queue_keys(tag)
  local prefix = NS .. ':'
  return {
    tag = tag,
    messages = prefix .. 'm:' .. tag,
    free = prefix .. 'f:' .. tag,
    delayed = prefix .. 'l:' .. tag,
    waking = prefix .. 'w:' .. tag,
    held = prefix .. 'h:' .. tag,
    expiry = prefix .. 'x:' .. tag,
    claims = prefix .. 'c:' .. tag,
    claim_expiry = prefix .. 'e:' .. tag,
    -- The subscriptions whose source is the queue (or topic) of this name.
    subscriptions = prefix .. 's:' .. tag,
    subscribers = prefix .. 'u:' .. tag,
    subscription_ids = prefix .. 'o:' .. tag,
    subscription_expiry = prefix .. 'y:' .. tag,
    -- The idempotency keys of posts to the queue (or topic) of this name.
    idempotency = prefix .. 'i:' .. tag,
    idempotency_expiry = prefix .. 'j:' .. tag,
  }
end

-- Claim ids are checked to be 32 hex digits before they reach a script.
local function claim_set_key(q, claim_id)
  return NS .. ':k:' .. claim_id .. ':' .. q.tag
end

local NAMES = project_key('q', PROJECT)
local METADATA = project_key('d', PROJECT)
local POLICIES = project_key('p', PROJECT)
local COUNTERS = project_key('n', PROJECT)
local Q = queue_keys(queue_tag(PROJECT, QUEUE))

local function decode(packed)
  local r = cmsgpack.unpack(packed)
  return {
    marker = r[1], ttl = r[2], created = r[3], expires = r[4], visible = r[5],
    client = r[6], claim = r[7], claim_expires = r[8], claims = r[9], body = r[10],
  }
end

local function encode(m)
  return cmsgpack.pack({
    m.marker, m.ttl, m.created, m.expires, m.visible,
    m.client, m.claim, m.claim_expires, m.claims, m.body,
  })
end

-- The record of the message with ``marker`` (a number or a score string).
local function load_at(q, marker)
  local packed = redis.call('HGET', q.messages, num(tonumber(marker)))
  if not packed then
    return nil
  end
  return decode(packed)
end

local function load_message(q, id)
  for _, key in ipairs({q.free, q.held, q.delayed}) do
    local marker = redis.call('ZSCORE', key, id)
    if marker then
      return load_at(q, marker)
    end
  end
  return nil
end

local function save_message(q, m)
  redis.call('HSET', q.messages, num(m.marker), encode(m))
end

-- Index a new (or moved) message that no claim holds.
local function add_unclaimed(q, id, m)
  if m.visible > NOW then
    redis.call('ZADD', q.delayed, num(m.marker), id)
    redis.call('ZADD', q.waking, num(m.visible), num(m.marker))
  else
    redis.call('ZADD', q.free, num(m.marker), id)
  end
  redis.call('ZADD', q.expiry, num(m.expires), num(m.marker))
end

-- Move a message from ``f`` or ``l`` to ``h``.
local function hold(q, id, m)
  redis.call('ZREM', q.free, id)
  if redis.call('ZREM', q.delayed, id) == 1 then
    redis.call('ZREM', q.waking, num(m.marker))
  end
  redis.call('ZADD', q.held, num(m.marker), id)
end

local function is_live(m)
  return m.expires > NOW
end

local function is_claimed(m)
  return m.claim ~= '' and m.claim_expires > NOW
end

-- What the driver turns into a Message; the claim id only while it is live.
local function view(id, m)
  local claim = ''
  if is_claimed(m) then
    claim = m.claim
  end
  return {id, m.marker, m.ttl, num(m.created), m.body, claim, m.claims}
end

-- Let gc() visit the queue no later than ``when``.
local function due_at(q, when)
  redis.call('ZADD', DUE, 'LT', num(when), q.tag)
end

-- Let gc() visit the queue when the first of its messages, claims,
-- subscriptions and idempotency keys expires; with none left, gc() need
-- not visit it at all.
local function schedule(q)
  local next_time = nil
  for _, key in ipairs({q.expiry, q.claim_expiry, q.subscription_expiry,
                        q.idempotency_expiry}) do
    local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    if first[2] then
      local when = tonumber(first[2])
      if not next_time or when < next_time then
        next_time = when
      end
    end
  end
  if next_time then
    redis.call('ZADD', DUE, num(next_time), q.tag)
  else
    redis.call('ZREM', DUE, q.tag)
  end
end

local function ensure_queue(name)
  if redis.call('ZADD', NAMES, 'NX', 0, name) == 1 then
    redis.call('HSET', METADATA, name, '{}')
  end
end

-- Drop one message from a claim's set; a claim that no message records any
-- more is gone (a live one holding no message no longer exists either).
local function forget_claim_of(q, id, claim_id)
  local set = claim_set_key(q, claim_id)
  redis.call('SREM', set, id)
  if redis.call('EXISTS', set) == 0 then
    redis.call('HDEL', q.claims, claim_id)
    redis.call('ZREM', q.claim_expiry, claim_id)
  end
end

local function remove_message(q, id, m)
  -- Removing costs about four times what examining does.
  spend(REMOVAL_COST)
  local marker = num(m.marker)
  redis.call('HDEL', q.messages, marker)
  redis.call('ZREM', q.free, id)
  redis.call('ZREM', q.held, id)
  if redis.call('ZREM', q.delayed, id) == 1 then
    redis.call('ZREM', q.waking, marker)
  end
  redis.call('ZREM', q.expiry, marker)
  if m.claim ~= '' then
    forget_claim_of(q, id, m.claim)
  end
end

-- Remove what an index holds for a marker whose record is gone.
local function remove_orphan(q, id, marker)
  redis.call('ZREM', q.free, id)
  redis.call('ZREM', q.held, id)
  redis.call('ZREM', q.delayed, id)
  redis.call('ZREM', q.waking, marker)
  redis.call('ZREM', q.expiry, marker)
end

-- Move a message from ``h`` back to ``f``, if it is in ``h``.
local function unhold(q, id)
  local marker = redis.call('ZSCORE', q.held, id)
  if marker then
    redis.call('ZREM', q.held, id)
    redis.call('ZADD', q.free, marker, id)
  end
end

-- Move the messages of up to ``limit`` expired claims back to the free set,
-- while this call has examined fewer than ``stop_at`` entries; they keep the
-- claim id they record. Returns how many claims were retired.
local function retire_expired_claims(q, limit, stop_at)
  local expired = redis.call('ZRANGEBYSCORE', q.claim_expiry, '-inf', num(NOW),
                             'LIMIT', 0, limit)
  local retired = 0
  for _, claim_id in ipairs(expired) do
    if spent >= stop_at then
      break
    end
    local ids = redis.call('SMEMBERS', claim_set_key(q, claim_id))
    for _, id in ipairs(ids) do
      unhold(q, id)
    end
    redis.call('ZREM', q.claim_expiry, claim_id)
    spend(1 + #ids)
    retired = retired + 1
  end
  return retired
end

-- Move delayed messages whose delay has passed to the free set, oldest
-- delay end first, while this call has examined fewer than ``stop_at``.
local function promote_delayed(q, stop_at)
  local room = stop_at - spent
  if room <= 0 then
    return
  end
  local markers = redis.call('ZRANGEBYSCORE', q.waking, '-inf', num(NOW),
                             'LIMIT', 0, room)
  for _, marker in ipairs(markers) do
    local id = redis.call('ZRANGEBYSCORE', q.delayed, marker, marker)[1]
    if id then
      redis.call('ZREM', q.delayed, id)
      redis.call('ZADD', q.free, marker, id)
    end
    redis.call('ZREM', q.waking, marker)
  end
  spend(#markers)
end

-- Retire expired claims and (if ``promote``) promote delayed messages, within
-- CATCH_UP. Returns whether no expired claim is left, and whether no delayed
-- message whose delay has passed is left in ``l`` (true unless ``promote``):
-- while one is, the scripts must also scan ``h`` (or ``l``).
local function catch_up(q, promote)
  local stop_at = spent + CATCH_UP
  retire_expired_claims(q, CATCH_UP, stop_at)
  local retired_all = redis.call('ZCOUNT', q.claim_expiry, '-inf', num(NOW)) == 0
  local promoted_all = true
  if promote then
    promote_delayed(q, stop_at)
    promoted_all = redis.call('ZCOUNT', q.waking, '-inf', num(NOW)) == 0
  end
  return retired_all, promoted_all
end

-- The id of the message with ``marker`` (a string), or nil.
local function id_at(q, marker)
  for _, key in ipairs({q.free, q.held, q.delayed}) do
    local found = redis.call('ZRANGEBYSCORE', key, marker, marker)
    if found[1] then
      return found[1]
    end
  end
  return nil
end

-- Remove up to ``limit`` expired messages; returns how many were removed.
local function sweep_expired(q, limit)
  local markers = redis.call('ZRANGEBYSCORE', q.expiry, '-inf', num(NOW),
                             'LIMIT', 0, limit)
  local removed = 0
  for _, marker in ipairs(markers) do
    local id = id_at(q, marker)
    local m = id and load_at(q, marker)
    if m then
      remove_message(q, id, m)
      removed = removed + 1
    else
      redis.call('ZREM', q.expiry, marker)
    end
  end
  return removed
end

-- Call visit(id, marker) for the members of the sorted sets ``keys``,
-- merged in score (marker) order, with scores above ``after`` (nil: all)
-- and up to ``last``, until visit returns true or the budget is spent.
-- Visit may change the sets: the scan resumes after the last score seen,
-- never from an offset.
local function scan(keys, after, last, visit)
  local lower = after
  while not exhausted() do
    local entries = {}
    -- Entries above the lowest last score of a full batch may have been cut
    -- off from another set's batch: they wait for the next round.
    local bound = nil
    for _, key in ipairs(keys) do
      local min = '-inf'
      if lower then
        min = '(' .. lower
      end
      local batch = redis.call('ZRANGEBYSCORE', key, min, last, 'WITHSCORES',
                               'LIMIT', 0, SCAN_BATCH)
      for i = 1, #batch, 2 do
        entries[#entries + 1] = {batch[i], tonumber(batch[i + 1])}
      end
      if #batch == 2 * SCAN_BATCH then
        local top = tonumber(batch[#batch])
        if not bound or top < bound then
          bound = top
        end
      end
    end
    table.sort(entries, function(a, b) return a[2] < b[2] end)
    for _, entry in ipairs(entries) do
      if (bound and entry[2] > bound) or exhausted() then
        break
      end
      spend(1)
      if visit(entry[1], entry[2]) then
        return
      end
    end
    if not bound then
      return
    end
    lower = num(bound)
  end
end

-- Load the message at ``marker`` for a scan; an expired one (or an index
-- entry without record) is removed in passing and nil returned.
local function live_at(q, id, marker)
  local m = load_at(q, marker)
  if not m then
    remove_orphan(q, id, num(marker))
    return nil
  end
  if not is_live(m) then
    remove_message(q, id, m)
    return nil
  end
  return m
end

local function decode_claim(packed)
  local r = cmsgpack.unpack(packed)
  return {expires = r[1], ttl = r[2], updated = r[3]}
end

-- Write the record of a claim that lasts ``ttl`` seconds from now (read by
-- decode_claim), and let gc() retire it when it expires. Returns its expiry.
local function save_claim(q, claim_id, ttl)
  local expires = NOW + ttl
  redis.call('HSET', q.claims, claim_id, cmsgpack.pack({expires, ttl, NOW}))
  redis.call('ZADD', q.claim_expiry, num(expires), claim_id)
  due_at(q, expires)
  return expires
end

-- The live claim ``claim_id`` and its messages in marker order, or nil.
local function live_claim(q, claim_id)
  local packed = redis.call('HGET', q.claims, claim_id)
  if not packed then
    return nil
  end
  local claim = decode_claim(packed)
  if claim.expires <= NOW then
    return nil
  end
  local held = {}
  for _, id in ipairs(redis.call('SMEMBERS', claim_set_key(q, claim_id))) do
    local m = load_message(q, id)
    if m and m.claim == claim_id and is_claimed(m) and is_live(m) then
      held[#held + 1] = {id, m}
    end
  end
  if #held == 0 then
    return nil
  end
  table.sort(held, function(a, b) return a[2].marker < b[2].marker end)
  return claim, held
end

-- Keep a message alive until its claim ends plus grace (see the contract).
local function extend_for_claim(q, m, claim_expires, ttl, grace)
  if m.expires < claim_expires then
    m.ttl = ttl + grace
    m.expires = claim_expires + grace
    redis.call('ZADD', q.expiry, num(m.expires), num(m.marker))
  end
end
