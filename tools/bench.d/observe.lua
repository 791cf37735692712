-- Observe: page through a queue's messages by marker, following the
-- "next" link, and start over at the end.
--
-- Arguments: project, client id prefix, queue name, page size.
-- One connection per wrk thread (tools/bench runs -t N -c N): each thread
-- is one observer following its own links.
-- Counters: messages (listed), pages, restarts (reached the end).
-- luacheck: globals wrk setup init request response done thread_number
-- luacheck: globals messages pages restarts
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")

messages, pages, restarts = 0, 0, 0

local first_page
local next_page

function setup(thread)
  common.setup(thread)
end

function init(args)
  common.headers(args[1], args[2], thread_number)
  first_page = "/v2/queues/" .. args[3] .. "/messages?echo=true&limit=" .. args[4]
end

function request()
  return wrk.format("GET", next_page or first_page)
end

function response(status, _, body)
  if status ~= 200 then
    next_page = nil
    return
  end
  pages = pages + 1
  for _ in body:gmatch('"id":') do
    messages = messages + 1
  end
  next_page = body:match('"href":%s*"([^"]*marker=[^"]*)"')
  if not next_page then
    restarts = restarts + 1
  end
end

function done(summary, latency)
  common.done(summary, latency, {"messages", "pages", "restarts"})
end
