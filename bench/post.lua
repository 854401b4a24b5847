-- wrk script: POST a form body (BENCH_BODY) with an optional cookie (BENCH_COOKIE).
-- With BENCH_STATUS_COUNTS set it also counts responses by status code and prints, at the end,
-- one "status <code>: <count>" line per code and "503 without Retry-After: <count>" (costs a
-- Lua call per response, so only the slow login storms turn it on).
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY") or ""
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept"] = "application/json"
local cookie = os.getenv("BENCH_COOKIE")
if cookie and cookie ~= "" then
  wrk.headers["Cookie"] = cookie
end

if os.getenv("BENCH_STATUS_COUNTS") then
  local threads = {}

  function setup(thread)
    table.insert(threads, thread)
  end

  function init(args)
    statuses = {}
    bare_503 = 0
  end

  function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
    if status == 503 and headers["Retry-After"] == nil and headers["retry-after"] == nil then
      bare_503 = bare_503 + 1
    end
  end

  function done(summary, latency, requests)
    local total, bare = {}, 0
    for _, thread in ipairs(threads) do
      for code, count in pairs(thread:get("statuses")) do
        total[code] = (total[code] or 0) + count
      end
      bare = bare + thread:get("bare_503")
    end
    local codes = {}
    for code in pairs(total) do table.insert(codes, code) end
    table.sort(codes)
    for _, code in ipairs(codes) do
      io.write(string.format("status %d: %d\n", code, total[code]))
    end
    io.write(string.format("503 without Retry-After: %d\n", bare))
  end
end
