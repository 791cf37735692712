-- Post messages: one queue, or a random one of many.
--
-- Arguments: project, client id prefix (a UUID without its last 12
-- digits), queue name (or name prefix), messages per post, payload bytes,
-- and the number of queues (0: post to the queue itself; N: to
-- <prefix><random 0..N-1>, which makes the requests dynamic).
-- luacheck: globals wrk setup init request done thread_number
package.path = os.getenv("BENCH_LUA_DIR") .. "/?.lua;" .. package.path
local common = require("common")

local body
local prefix
local queues

function setup(thread)
  common.setup(thread)
end

function init(args)
  common.headers(args[1], args[2], thread_number)
  local name = args[3]
  local batch = tonumber(args[4])
  local message = string.format(
    '{"body": {"payload": "%s"}, "ttl": 3600}', string.rep("x", tonumber(args[5])))
  local messages = {}
  for index = 1, batch do
    messages[index] = message
  end
  body = '{"messages": [' .. table.concat(messages, ", ") .. "]}"
  queues = tonumber(args[6])
  if queues == 0 then
    -- A static request: wrk sends it over and over without calling Lua.
    wrk.method = "POST"
    wrk.path = "/v2/queues/" .. name .. "/messages"
    wrk.body = body
  else
    prefix = name
    math.randomseed(os.time() * 100 + thread_number)
    request = function()
      local path = string.format(
        "/v2/queues/%s%d/messages", prefix, math.random(0, queues - 1))
      return wrk.format("POST", path, nil, body)
    end
  end
end

function done(summary, latency)
  common.done(summary, latency, {})
end
