-- wrk script for benchmarks/api.py: replays pre-built raw HTTP/1.1 requests in rotation, then prints
-- one line "WRK_JSON {...}" with the totals and latency percentiles (microseconds).
--
-- usage: wrk -t1 -c32 -d8s -s benchmarks/wrk/replay.lua http://127.0.0.1:PORT -- POOL_FILE
-- POOL_FILE holds, for each request, a line "<length in bytes> <kind>" and then exactly that many
-- raw bytes (request line, headers, body). response() only counts status codes (one table update
-- per answer), so wrk stays cheap and never the bottleneck; benchmarks/api.py reports its CPU.

local pool, count, at = {}, 0, 0
local threads = {}
statuses = {} -- per thread, read by done() through thread:get

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   local file = assert(io.open(args[1], "rb"))
   while true do
      local line = file:read("*l")
      if line == nil or line == "" then break end
      count = count + 1
      pool[count] = file:read(tonumber(line:match("^%d+")))
   end
   file:close()
   assert(count > 0, "empty request pool")
end

function request()
   at = at % count + 1
   return pool[at]
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local e = summary.errors
   local total = {}
   for _, thread in ipairs(threads) do
      for status, n in pairs(thread:get("statuses")) do
         total[status] = (total[status] or 0) + n
      end
   end
   local parts = {}
   for status, n in pairs(total) do
      table.insert(parts, string.format('"%d": %d', status, n))
   end
   io.write(string.format(
      'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "statuses": {%s}, ' ..
      '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
      '"latency_us": {"mean": %.1f, "stdev": %.1f, "min": %d, "max": %d, ' ..
      '"p50": %d, "p90": %d, "p99": %d, "p999": %d}}\n',
      summary.requests, summary.duration, summary.bytes, table.concat(parts, ", "),
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency.stdev, latency.min, latency.max,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
