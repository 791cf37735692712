"""The Lua scripts of the Redis driver: every write is one script.

A script runs atomically on the server, so each storage operation that must
be atomic (posting with its counter reservation, claiming with its dead-letter
moves, releasing, deleting under a claim, popping, purging, compare-and-set of
metadata, collecting garbage) is exactly one script call and one round trip.

Every script receives the same first four arguments, unpacked by PRELUDE:
the key namespace, the project, the queue name and "now" (the driver's clock,
never Redis TIME). Keys are derived from them inside the script (a
dead-letter queue's keys come from stored metadata), so the scripts pass no
KEYS: this driver targets one Redis server (or a Sentinel-managed primary),
not Redis Cluster. ``ZADD ... LT`` needs Redis 6.2 or later.

Key layout, under ``<ns>:``, where ``<tag>`` is ``<len(project)>:<project>:
<queue>`` (the length prefix makes any project id and queue name unambiguous):

=================  ======  ===================================================
key                type    holds
=================  ======  ===================================================
q:<project>        zset    queue names, score 0 (listing by name, count)
d:<project>        hash    queue name -> metadata JSON
p:<project>        hash    queue name -> dead-letter policy, when active
n:<project>        hash    queue name -> last marker given out (never deleted)
m:<tag>            hash    marker -> message record (MessagePack)
f:<tag>            zset    ids of visible messages not held by a claim, by
                           marker
l:<tag>            zset    ids of delayed messages not moved to ``f`` yet, by
                           marker
w:<tag>            zset    markers of the messages in ``l``, by the time their
                           delay ends
h:<tag>            zset    ids of messages held by a live claim, by marker
x:<tag>            zset    markers of all messages, by expiry time
c:<tag>            hash    claim id -> claim record, while any message
                           still records the claim
e:<tag>            zset    ids of claims not yet expired, by expiry time
k:<claim>:<tag>    set     ids of the messages that record the claim
due                zset    queue tags, by the earliest time something in the
                           queue expires (what gc() visits)
=================  ======  ===================================================

A message record is the array ``marker, ttl, created, expires, visible_at,
client_id, claim_id, claim_expires, claim_count, body``; ``claim_id`` stays
after its claim expires (until released or replaced), as the contract wants.
Records and ``x`` are keyed by marker rather than by the longer id, to save
memory: ``f``, ``l`` and ``h`` map an id to its marker (ZSCORE) and a marker
to its id (by score). A message is in exactly one of ``f``, ``l`` and ``h``.
A delayed message is posted to ``l`` (and ``w``), and moved ("promoted") to
``f`` once its delay has passed, by the claim and list scripts, so that
claims never walk over messages that are still delayed. A message moves from
``h`` back to ``f`` when its claim is released, or when its claim expires and
a script "retires" the claim (claim, list, pop, stats and gc do that first).

Bounded work: a script never blocks the server for long, because no call
examines more than ``BUDGET`` entries (messages looked at, claims retired
with their messages, delayed messages promoted, queue names listed). The
price, in situations a busy queue rarely meets:

* Claim, list, pop and stats spend at most half of the budget retiring
  expired claims and promoting delayed messages. While more are left than
  that, the scripts also scan ``h`` (or ``l``) in marker order, skipping what
  is not eligible, so that order and paging stay exact; they return fewer
  messages, and ``stats`` may still count as claimed some messages whose
  claim has expired.
* A claim or pop that meets more than the rest of the budget of messages
  it must step over (expired ones, which it removes in passing) returns
  fewer messages than asked for, even none, although more may follow; the
  next call goes further. A list that runs out of budget (stepping over
  expired, delayed, claimed messages or, without ``echo``, the reader's own)
  returns where it stopped, and the driver calls it again from there until
  the page is full or the queue ends: each call stays short, the page stays
  exact.
* ``stats`` reports no oldest (or newest) message when it finds no live one
  within the budget at that end of the queue (it removes the expired ones it
  meets, so later calls find it).
* Listing queues returns after examining the budget of names; the driver
  calls again from where the script stopped.
"""

from __future__ import annotations

# Entries any one script call examines at most (see the module docstring).
BUDGET = 2000

# Shared definitions, prepended to every script.
PRELUDE = (
    f'local BUDGET = {BUDGET}\n'
    + r"""
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
      local marker = redis.call('ZSCORE', q.held, id)
      if marker then
        redis.call('ZREM', q.held, id)
        redis.call('ZADD', q.free, marker, id)
      end
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

local function encode_claim(claim)
  return cmsgpack.pack({claim.expires, claim.ttl, claim.updated})
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
"""
)

POST = r"""
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
"""

LIST_MESSAGES = r"""
local client_id = ARGV[5]
local after = nil
if ARGV[6] ~= '' then
  after = ARGV[6]
end
local limit = tonumber(ARGV[7])
local echo = ARGV[8] == '1'
local include_claimed = ARGV[9] == '1'
local include_delayed = ARGV[10] == '1'
local found = {}
if limit <= 0 then
  return found
end
local retired_all, promoted_all = catch_up(Q, not include_delayed)
local sources = {Q.free}
if include_claimed or not retired_all then
  sources[#sources + 1] = Q.held
end
if include_delayed or not promoted_all then
  sources[#sources + 1] = Q.delayed
end
local last_seen = nil
scan(sources, after, '+inf', function(id, marker)
  last_seen = marker
  local m = live_at(Q, id, marker)
  if m
      and (include_claimed or not is_claimed(m))
      and (include_delayed or m.visible <= NOW)
      and (echo or m.client ~= client_id) then
    found[#found + 1] = view(id, m)
  end
  return #found >= limit
end)
-- Out of budget before the page was full: say where to go on from (every
-- entry up to last_seen was examined), so the driver calls again.
local resume = ''
if #found < limit and exhausted() then
  if last_seen then
    resume = num(last_seen)
  else
    resume = ARGV[6] == '' and 'start' or ARGV[6]
  end
end
return {found, resume}
"""

GET_MESSAGES = r"""
local found = {}
for i = 5, #ARGV do
  local m = load_message(Q, ARGV[i])
  if m and is_live(m) then
    found[#found + 1] = {ARGV[i], m}
  end
end
table.sort(found, function(a, b) return a[2].marker < b[2].marker end)
local views = {}
for i, pair in ipairs(found) do
  views[i] = view(pair[1], pair[2])
end
return views
"""

# Returns 0 when the message is deleted or absent, 1 when it is claimed by
# another claim (or no claim id was given), 2 when it is not claimed.
DELETE_MESSAGE = r"""
local id = ARGV[5]
local claim_id = ARGV[6]
local m = load_message(Q, id)
if not m or not is_live(m) then
  return 0
end
-- Its live claim, or an expired one nobody released or replaced.
if claim_id == '' or claim_id ~= m.claim then
  if is_claimed(m) then
    return 1
  end
  if claim_id ~= '' then
    return 2
  end
end
remove_message(Q, id, m)
return 0
"""

DELETE_MESSAGES = r"""
for i = 5, #ARGV do
  local m = load_message(Q, ARGV[i])
  if m then
    remove_message(Q, ARGV[i], m)
  end
end
return 0
"""

# Delayed messages are popped too (see the contract).
POP = r"""
local limit = tonumber(ARGV[5])
local popped = {}
if limit <= 0 then
  return popped
end
local retired_all = catch_up(Q, false)
local sources = {Q.free, Q.delayed}
if not retired_all then
  sources[#sources + 1] = Q.held
end
scan(sources, nil, '+inf', function(id, marker)
  -- Expired ones stepped over go too, so that no pop meets them again.
  local m = live_at(Q, id, marker)
  if m and not is_claimed(m) then
    popped[#popped + 1] = view(id, m)
    remove_message(Q, id, m)
  end
  return #popped >= limit
end)
return popped
"""

# Shared by PURGE and DELETE_QUEUE.
_CLEAR_QUEUE = r"""
local function clear_queue(q)
  for _, claim_id in ipairs(redis.call('HKEYS', q.claims)) do
    redis.call('UNLINK', claim_set_key(q, claim_id))
  end
  redis.call('UNLINK', q.messages, q.free, q.delayed, q.waking, q.held,
             q.expiry, q.claims, q.claim_expiry)
  redis.call('ZREM', DUE, q.tag)
end
"""

PURGE = (
    _CLEAR_QUEUE
    + r"""
clear_queue(Q)
return 0
"""
)

# The counter (n:<project>) stays: a re-created queue continues after the
# last marker it ever gave out.
DELETE_QUEUE = (
    _CLEAR_QUEUE
    + r"""
clear_queue(Q)
redis.call('ZREM', NAMES, QUEUE)
redis.call('HDEL', METADATA, QUEUE)
redis.call('HDEL', POLICIES, QUEUE)
return 0
"""
)

CREATE_QUEUE = r"""
if redis.call('ZADD', NAMES, 'NX', 0, QUEUE) == 0 then
  return 0
end
redis.call('HSET', METADATA, QUEUE, ARGV[5])
if ARGV[6] ~= '' then
  redis.call('HSET', POLICIES, QUEUE, ARGV[6])
end
return 1
"""

# Returns {'missing'}, {'conflict', stored} or {'ok'}. The comparison is of
# JSON texts; the driver retries with the stored text when the two texts
# mean the same metadata.
SET_METADATA = r"""
local stored = redis.call('HGET', METADATA, QUEUE)
if not stored then
  return {'missing'}
end
if ARGV[7] == '1' and stored ~= ARGV[8] then
  return {'conflict', stored}
end
redis.call('HSET', METADATA, QUEUE, ARGV[5])
if ARGV[6] ~= '' then
  redis.call('HSET', POLICIES, QUEUE, ARGV[6])
else
  redis.call('HDEL', POLICIES, QUEUE)
end
return {'ok'}
"""

# Returns {1 if every name after ``after`` was examined, the last name
# examined, {name, metadata, ...}}; it stops after ``limit`` matches or
# BUDGET names.
LIST_QUEUES = r"""
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
"""

STATS = r"""
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
"""

CREATE_CLAIM = r"""
local claim_id = ARGV[5]
local ttl = tonumber(ARGV[6])
local grace = tonumber(ARGV[7])
local limit = tonumber(ARGV[8])
local claim_expires = NOW + ttl
if limit <= 0 then
  return {}
end
local retired_all, promoted_all = catch_up(Q, true)

local policy = nil
local policy_text = redis.call('HGET', POLICIES, QUEUE)
if policy_text then
  local max_claims, dlq_ttl, dlq = string.match(policy_text, '^(%S+) (%S+) (.*)$')
  policy = {max_claims = tonumber(max_claims), ttl = tonumber(dlq_ttl), queue = dlq}
end

-- Moved unclaimed, with a new marker from the dead-letter queue's counter,
-- no claims, and a TTL counted from now.
local function move_to_dead_letter_queue(id, m)
  remove_message(Q, id, m)
  ensure_queue(policy.queue)
  local dlq = queue_keys(queue_tag(PROJECT, policy.queue))
  if policy.ttl > 0 then
    m.ttl = policy.ttl
  end
  m.marker = redis.call('HINCRBY', COUNTERS, policy.queue, 1)
  m.expires = NOW + m.ttl
  m.visible = NOW
  m.claim = ''
  m.claim_expires = 0
  m.claims = 0
  save_message(dlq, m)
  add_unclaimed(dlq, id, m)
  due_at(dlq, m.expires)
end

-- Only messages that were in the queue when the claim began: a dead-letter
-- queue naming this queue re-posts moved messages at its tail.
local last = redis.call('HGET', COUNTERS, QUEUE) or '0'
local set = claim_set_key(Q, claim_id)
local taken = {}
local sources = {Q.free}
if not retired_all then
  sources[#sources + 1] = Q.held
end
if not promoted_all then
  sources[#sources + 1] = Q.delayed
end
scan(sources, nil, last, function(id, marker)
  local m = live_at(Q, id, marker)
  if m and not is_claimed(m) and m.visible <= NOW then
    if policy and m.claims >= policy.max_claims then
      move_to_dead_letter_queue(id, m)
    else
      if m.claim ~= '' then
        forget_claim_of(Q, id, m.claim)
      end
      m.claim = claim_id
      m.claim_expires = claim_expires
      m.claims = m.claims + 1
      extend_for_claim(Q, m, claim_expires, ttl, grace)
      save_message(Q, m)
      hold(Q, id, m)
      redis.call('SADD', set, id)
      taken[#taken + 1] = view(id, m)
    end
  end
  return #taken >= limit
end)
if #taken == 0 then
  return {}
end
redis.call('HSET', Q.claims, claim_id,
           encode_claim({expires = claim_expires, ttl = ttl, updated = NOW}))
redis.call('ZADD', Q.claim_expiry, num(claim_expires), claim_id)
due_at(Q, claim_expires)
return taken
"""

GET_CLAIM = r"""
local claim, held = live_claim(Q, ARGV[5])
if not claim then
  return nil
end
local views = {}
for i, pair in ipairs(held) do
  views[i] = view(pair[1], pair[2])
end
return {claim.ttl, num(claim.updated), views}
"""

# Returns 1 when renewed, 0 when the claim does not exist.
UPDATE_CLAIM = r"""
local claim_id = ARGV[5]
local ttl = tonumber(ARGV[6])
local grace = tonumber(ARGV[7])
local claim, held = live_claim(Q, claim_id)
if not claim then
  return 0
end
local claim_expires = NOW + ttl
redis.call('HSET', Q.claims, claim_id,
           encode_claim({expires = claim_expires, ttl = ttl, updated = NOW}))
redis.call('ZADD', Q.claim_expiry, num(claim_expires), claim_id)
due_at(Q, claim_expires)
for _, pair in ipairs(held) do
  local id, m = pair[1], pair[2]
  m.claim_expires = claim_expires
  extend_for_claim(Q, m, claim_expires, ttl, grace)
  save_message(Q, m)
end
return 1
"""

# Works from the claim's message set, which outlives the claim's expiry and
# gc(): releasing never depends on whether gc ran.
RELEASE_CLAIM = r"""
local claim_id = ARGV[5]
local set = claim_set_key(Q, claim_id)
for _, id in ipairs(redis.call('SMEMBERS', set)) do
  local m = load_message(Q, id)
  if m and m.claim == claim_id then
    m.claim = ''
    m.claim_expires = 0
    save_message(Q, m)
    local marker = redis.call('ZSCORE', Q.held, id)
    if marker then
      redis.call('ZREM', Q.held, id)
      redis.call('ZADD', Q.free, marker, id)
    end
  end
end
redis.call('DEL', set)
redis.call('HDEL', Q.claims, claim_id)
redis.call('ZREM', Q.claim_expiry, claim_id)
return 0
"""

# Visits the queues whose earliest expiry has passed, removing at most
# ``budget`` messages and retiring at most ``budget`` claims. Returns
# {messages removed, claims retired, queues visited, 1 if more is due}.
# Every visit makes progress (a queue with nothing expired left is
# rescheduled to its next expiry or leaves ``due``), so the driver calls
# again while a call visited some queue and more is due.
GC = r"""
local budget = tonumber(ARGV[5])

local function reschedule(q)
  local next_time = nil
  for _, key in ipairs({q.expiry, q.claim_expiry}) do
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

local messages, claims, visited = 0, 0, 0
local tags = redis.call('ZRANGEBYSCORE', DUE, '-inf', num(NOW), 'LIMIT', 0, budget)
for _, tag in ipairs(tags) do
  if messages >= budget or claims >= budget then
    break
  end
  local q = queue_keys(tag)
  claims = claims + retire_expired_claims(q, budget - claims, math.huge)
  messages = messages + sweep_expired(q, budget - messages)
  reschedule(q)
  visited = visited + 1
end
local more = 0
if redis.call('ZCOUNT', DUE, '-inf', num(NOW)) > 0 then
  more = 1
end
return {messages, claims, visited, more}
"""
