-- Delete messages by id (Scripts.delete_messages).
-- ARGV[5] how many claim ids follow: empty for a delete that ignores claims,
-- else the delete is claim-checked (MessageController.delete_many) against
-- ARGV[6] .. ARGV[5 + count]. The message ids come after them.
-- Returns {0} when the messages are deleted (or absent). A claim-checked
-- delete deletes nothing unless every live message records one of the
-- claims; for the first that does not, it returns {1, id} when a live
-- claim holds it and {2, id} when none does.
local checked = ARGV[5] ~= ''
local first = 6
local quoted = {}
if checked then
  local count = tonumber(ARGV[5])
  for i = 6, 5 + count do
    quoted[ARGV[i]] = true
  end
  first = 6 + count
end

-- Every message is checked before any is removed: all or nothing.
local found = {}
for i = first, #ARGV do
  local id = ARGV[i]
  local m = load_message(Q, id)
  if m then
    -- Its live claim, or an expired one nobody released or replaced.
    if checked and is_live(m) and not quoted[m.claim] then
      if is_claimed(m) then
        return {1, id}
      end
      return {2, id}
    end
    found[#found + 1] = {id, m}
  end
end
for _, entry in ipairs(found) do
  remove_message(Q, entry[1], entry[2])
end
return {0}
