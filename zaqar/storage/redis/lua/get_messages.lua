-- Read messages by id (Scripts.get_messages).
-- ARGV[5] onwards: the message ids.
-- Returns the views of the live ones, in marker order.
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
