-- Delete one message if its claim allows it (Scripts.delete_message).
-- ARGV[5] the message id, ARGV[6] the claim id given (empty: none).
-- Returns 0 when the message is deleted or absent, 1 when it is claimed by
-- another claim (or no claim id was given), 2 when it is not claimed.
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
