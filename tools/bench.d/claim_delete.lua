-- Consume: claim up to N messages, then delete the claimed ones with the
-- claim, then claim again.
--
-- Arguments: project, client id prefix, queue name, claim limit, delete
-- mode: "bulk" (one DELETE .../messages?ids=...&claim_ids=<claim>) or
-- "each" (DELETE .../messages/<id>?claim_id=<claim> per message).
--
-- Each wrk thread must have exactly one connection (tools/bench runs
-- -t N -c N): the thread's state then follows its one connection, request
-- then response, so a response is known to answer the last request.
-- Counters: deleted (messages deleted), claims, empty (claims answered 204:
-- the queue ran dry), failed (unexpected statuses).
-- luacheck: globals wrk setup init request response done thread_number
-- luacheck: globals deleted claims empty failed
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")

deleted, claims, empty, failed = 0, 0, 0, 0

local claim_request
local messages_path
local bulk
local pending = {}  -- delete paths still to send, with their message count
local last_kind     -- "claim" or "delete"
local last_count = 0

function setup(thread)
  common.setup(thread)
end

function init(args)
  common.headers(args[1], args[2], thread_number)
  messages_path = "/v2/queues/" .. args[3] .. "/messages"
  claim_request = wrk.format(
    "POST", "/v2/queues/" .. args[3] .. "/claims?limit=" .. args[4], nil,
    '{"ttl": 300, "grace": 60}')
  bulk = args[5] == "bulk"
end

function request()
  local job = table.remove(pending)
  if job then
    last_kind, last_count = "delete", job.count
    return wrk.format("DELETE", job.path)
  end
  last_kind, last_count = "claim", 0
  return claim_request
end

local function queue_deletes(body)
  local ids = {}
  local claim
  for id, claim_id in body:gmatch('/messages/([^/?"]+)%?claim_id=([^"&]+)"') do
    ids[#ids + 1] = id
    claim = claim_id
    if not bulk then
      pending[#pending + 1] = {
        path = messages_path .. "/" .. id .. "?claim_id=" .. claim_id, count = 1}
    end
  end
  if bulk and #ids > 0 then
    pending[#pending + 1] = {
      path = messages_path .. "?ids=" .. table.concat(ids, ",") .. "&claim_ids=" .. claim,
      count = #ids}
  end
end

function response(status, _, body)
  if last_kind == "claim" then
    if status == 201 then
      claims = claims + 1
      queue_deletes(body)
    elseif status == 204 then
      empty = empty + 1
    else
      failed = failed + 1
    end
  elseif status == 204 then
    deleted = deleted + last_count
  else
    failed = failed + 1
  end
end

function done(summary, latency)
  common.done(summary, latency, {"deleted", "claims", "empty", "failed"})
end
