--[[
  Takes the beat lease when nobody holds it, or renews it when the caller holds it. A new holder
  gets a new fencing token from a counter that only grows, so anything a former holder writes
  later can be told apart from what the current holder writes (schedule state keeps the highest
  token that wrote it and refuses lower ones).
  KEYS[1] lease: "<token> <beat id>" with a TTL
  KEYS[2] fencing counter
  ARGV[1] beat id, ARGV[2] TTL (ms)
  Returns { token, holder, remaining TTL in ms } of the lease after the call; the caller holds
  it when holder == ARGV[1].
]]
local current = redis.call("GET", KEYS[1])
if current then
  local space = string.find(current, " ", 1, true)
  local token = tonumber(string.sub(current, 1, space - 1))
  local holder = string.sub(current, space + 1)
  if holder == ARGV[1] then
    redis.call("PEXPIRE", KEYS[1], ARGV[2])
    return { token, holder, tonumber(ARGV[2]) }
  end
  return { token, holder, redis.call("PTTL", KEYS[1]) }
end
local token = redis.call("INCR", KEYS[2])
redis.call("SET", KEYS[1], token .. " " .. ARGV[1], "PX", ARGV[2])
return { token, ARGV[1], tonumber(ARGV[2]) }
