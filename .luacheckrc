-- luacheck settings for the Redis driver's Lua scripts
-- (zaqar/storage/redis/lua; tools/test runs luacheck on that directory).
--
-- Redis runs each script as one chunk that zaqar/storage/redis/scripts.py
-- composes: ``local BUDGET = ...``, then _prelude.lua, then the fragments
-- the script needs (the other files whose name starts with ``_``), then the
-- script's own file. A file is linted alone, so the locals that BUDGET line
-- and the fragments define are read-only globals here, and a fragment's
-- definitions, there for the files after it, do not count as unused.
-- tests/drivers/test_redis_lua.py lints every composed script as well,
-- where the fragments' names need no listing.

-- What Redis gives a script: the parts of Lua 5.1 its sandbox keeps (no
-- io, os, require or file loading), its libraries and the arguments.
stds.redis = {
  read_globals = {
    'assert', 'error', 'getmetatable', 'ipairs', 'next', 'pairs', 'pcall',
    'rawequal', 'rawget', 'rawset', 'select', 'setmetatable', 'tonumber',
    'tostring', 'type', 'unpack', 'xpcall', '_VERSION',
    'math', 'string', 'table',
    'bit', 'cjson', 'cmsgpack', 'redis', 'struct',
    'ARGV', 'KEYS',
  },
}
std = 'redis'
max_line_length = 100
-- Name only the files with something to report.
quiet = 1

-- Listed by file, in composition order. A name missing here is an
-- undefined global where a script uses it, and an unused function in the
-- fragment that defines it: luacheck reports both.
local fragment_locals = {
  -- Added by scripts.py before _prelude.lua.
  'BUDGET',
  -- _prelude.lua
  'NS', 'PROJECT', 'QUEUE', 'NOW', 'DUE', 'SCAN_BATCH', 'CATCH_UP',
  'REMOVAL_COST', 'spent', 'spend', 'exhausted', 'num', 'project_key',
  'queue_tag', 'queue_keys', 'claim_set_key', 'NAMES', 'METADATA', 'POLICIES',
  'COUNTERS', 'Q', 'decode', 'encode', 'load_at', 'load_message',
  'save_message', 'add_unclaimed', 'hold', 'is_live', 'is_claimed', 'view',
  'due_at', 'schedule', 'ensure_queue', 'forget_claim_of', 'remove_message',
  'remove_orphan', 'retire_expired_claims', 'promote_delayed', 'catch_up',
  'id_at', 'sweep_expired', 'scan', 'live_at', 'decode_claim',
  'save_claim', 'live_claim', 'extend_for_claim', 'unhold',
  -- _clear_queue.lua
  'clear_queue',
  -- _dead_letter.lua
  'policy_argument', 'save_policy', 'load_policy',
  -- _subscriptions.lua
  'decode_subscription', 'encode_subscription', 'load_subscription',
  'live_subscription', 'save_subscription', 'subscription_view',
  'remove_subscription', 'holder_of', 'sweep_expired_subscriptions',
  'release_subscriber',
  -- _post.lua
  'post_messages',
  -- _idempotency.lua
  'decode_key_record', 'encode_key_record', 'sweep_expired_keys',
}

local defined_by_fragments = {}
for _, name in ipairs(fragment_locals) do
  defined_by_fragments[#defined_by_fragments + 1] = '211/' .. name
end

files['zaqar/storage/redis/lua'] = {read_globals = fragment_locals}
files['zaqar/storage/redis/lua/_*.lua'] = {ignore = defined_by_fragments}
