-- Delete messages by id, claimed or not (Scripts.delete_messages).
-- ARGV[5] onwards: the message ids.
for i = 5, #ARGV do
  local m = load_message(Q, ARGV[i])
  if m then
    remove_message(Q, ARGV[i], m)
  end
end
return 0
