-- Post messages with consecutive markers (Scripts.post).
-- ARGV[5] the client id, ARGV[6] how many expired messages to remove in
-- passing, ARGV[7] the metadata (JSON, as dump_json writes it) the queue
-- must have for the post to be stored, or '' to post whatever it has, then
-- ARGV[8] to ARGV[10] the messages, packed as _post.lua's unpack_messages
-- reads them.
-- Returns the queue's last marker, or -1 when the queue's metadata was not
-- ARGV[7]: then nothing was written.
local expected = ARGV[7]
if expected ~= '' then
  -- A queue that does not exist has no metadata; ensure_queue gives it {}.
  local stored = redis.call('HGET', METADATA, QUEUE) or '{}'
  if stored ~= expected then
    return -1
  end
end
return post_messages(ARGV[5], tonumber(ARGV[6]), 8)
