-- List queues a page at a time from a random queue of many.
--
-- Arguments: project, client id prefix, queue name prefix, number of
-- queues, page size. The marker is a random existing queue's name, so
-- pages come from anywhere in the project's listing.
-- luacheck: globals wrk setup init request done thread_number
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")

local prefix
local queues
local limit

function setup(thread)
  common.setup(thread)
end

function init(args)
  common.headers(args[1], args[2], thread_number)
  prefix, queues, limit = args[3], tonumber(args[4]), args[5]
  math.randomseed(os.time() * 100 + thread_number)
end

function request()
  local path = string.format(
    "/v2/queues?limit=%s&marker=%s%d", limit, prefix, math.random(0, queues - 1))
  return wrk.format("GET", path)
end

function done(summary, latency)
  common.done(summary, latency, {})
end
