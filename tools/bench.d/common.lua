-- Shared by the tools/bench wrk scripts: the summary tools/bench reads.
--
-- wrk runs each script once per thread (request, response, init) and once
-- more in a main state (setup, done). done() prints one line starting with
-- "BENCH_JSON " holding the figures and every thread's counters, which
-- tools/bench parses; wrk's own text summary is ignored.
-- luacheck: globals wrk
local common = {}

local threads = {}

-- Encode numbers, strings and tables of them; enough for our summary.
local function encode(value)
  local kind = type(value)
  if kind == "number" then
    if value ~= value or value == math.huge or value == -math.huge then
      return "null"
    end
    return string.format("%.17g", value)
  elseif kind == "string" then
    return '"' .. value:gsub('[%c"\\]', function(c)
      return string.format("\\u%04x", c:byte())
    end) .. '"'
  elseif kind == "table" then
    local parts = {}
    for key, item in pairs(value) do
      parts[#parts + 1] = encode(tostring(key)) .. ":" .. encode(item)
    end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  return "null"
end

-- Call from setup(thread): number the thread (for seeds and client ids)
-- and keep it so that done() can read its counters.
function common.setup(thread)
  threads[#threads + 1] = thread
  thread:set("thread_number", #threads)
end

-- Call from done(): print the figures and the named counters, summed over
-- the threads.
function common.done(summary, latency, counters)
  local totals = {}
  for _, name in ipairs(counters or {}) do
    totals[name] = 0
    for _, thread in ipairs(threads) do
      totals[name] = totals[name] + (tonumber(thread:get(name)) or 0)
    end
  end
  local result = {
    duration_us = summary.duration,
    requests = summary.requests,
    bytes = summary.bytes,
    errors = summary.errors,
    latency_us = {
      p50 = latency:percentile(50),
      p90 = latency:percentile(90),
      p99 = latency:percentile(99),
      max = latency.max,
      mean = latency.mean,
    },
    counters = totals,
  }
  io.write("BENCH_JSON ", encode(result), "\n")
end

-- Headers every request carries; Client-ID must be a UUID, and differs
-- per thread so that each looks like its own client.
function common.headers(project, client_prefix, number)
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-Project-ID"] = project
  wrk.headers["Client-ID"] = string.format("%s%012d", client_prefix, number)
end

return common
