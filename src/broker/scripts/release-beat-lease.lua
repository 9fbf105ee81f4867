--[[
  Gives the lease up at shutdown, so a standby takes over at once instead of after the TTL;
  only the holder with the same token may release it.
  KEYS[1] lease
  ARGV[1] "<token> <beat id>"
  Returns 1 when released, 0 when the lease was not the caller's.
]]
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0
