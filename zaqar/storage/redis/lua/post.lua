-- Post messages with consecutive markers (Scripts.post).
-- ARGV[5] the client id, ARGV[6] how many expired messages to remove in
-- passing, then four per message: its id, TTL, delay and body (JSON).
-- Returns the queue's last marker.
return post_messages(ARGV[5], tonumber(ARGV[6]), 7)
