/**
 * schedule.ts's arithmetic as one Redis script, so that every instance
 * decides from one schedule per workspace, atomically, on Redis's clock
 * (instances' clocks may differ). It mirrors `takeSlot` step for step: keep
 * the two in the same order when changing either; the tests run both on the
 * same calls and compare the verdicts.
 *
 * KEYS (one hash tag, so a cluster keeps them on one node):
 *   [1] hash: origin, blocked, and per partner "p:<key>" = "tag|weight|booked"
 *   [2] sorted set of taken slots (member = score = slot number)
 *   [3] hash of grants per minute and partner, "<minute>|<key>" = count
 * ARGV[1]: "take" | "block" | "blocked"; ARGV[2]: now in ms, or "" for Redis's
 * TIME (tests pass their manual clock). take: partner, weight, rate/s,
 * burst, maxWaitMs → {1, waitMs} | {0, waitMs}. block: ms → ms. blocked: → ms.
 * Numbers are stored with explicit formats, never Lua's 14-digit default.
 */
import { luaScript } from './lua.js';

export const FAIR_SHARE_SCRIPT = luaScript(`
local now
if ARGV[2] ~= '' then
  now = tonumber(ARGV[2])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local blocked = tonumber(redis.call('HGET', KEYS[1], 'blocked') or '0')
if ARGV[1] == 'blocked' then
  return math.ceil(math.max(0, blocked - now))
end
local function keepFor(ms)
  for _, key in ipairs({KEYS[1], KEYS[2]}) do
    if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
  end
end
if ARGV[1] == 'block' then
  local untilMs = now + tonumber(ARGV[3])
  if untilMs > blocked then
    redis.call('HSET', KEYS[1], 'blocked', string.format('%.3f', untilMs))
    keepFor(math.ceil(tonumber(ARGV[3])) + 60000)
  end
  return math.ceil(math.max(untilMs, blocked) - now)
end

local EPSILON = 1e-6
local partner = ARGV[3]
local weight = tonumber(string.format('%.6f', tonumber(ARGV[4])))
local interval = 1000 / tonumber(ARGV[5])
local credit = tonumber(ARGV[6]) - 1
local maxWait = tonumber(ARGV[7])
local origin = tonumber(redis.call('HGET', KEYS[1], 'origin') or '')
if origin == nil then origin = now end
local cur = math.floor((now - origin) / interval)

-- pruneBefore(cur - credit)
local floorSlot = cur - credit
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. floorSlot)
local partners, known = {}, 0
local fields = redis.call('HGETALL', KEYS[1])
for j = 1, #fields, 2 do
  if string.sub(fields[j], 1, 2) == 'p:' then
    local tag, w, booked = string.match(fields[j + 1], '^([^|]+)|([^|]+)|([^|]+)$')
    tag, w, booked = tonumber(tag), tonumber(w), tonumber(booked)
    if tag <= floorSlot + EPSILON and booked < floorSlot then
      redis.call('HDEL', KEYS[1], fields[j])
    else
      partners[string.sub(fields[j], 3)] = {tag = tag, weight = w, booked = booked}
      known = known + 1
    end
  end
end
if redis.call('ZCARD', KEYS[2]) == 0 and known == 0 then
  origin = now
  cur = 0
end
floorSlot = cur - credit

local busyWeight = 0
for key, entry in pairs(partners) do
  if key ~= partner and (entry.tag > cur + EPSILON or entry.booked > cur) then busyWeight = busyWeight + entry.weight end
end
local alone = busyWeight == 0
busyWeight = busyWeight + weight
local spacing = busyWeight / weight
local start = cur
if partners[partner] and partners[partner].tag > start then start = partners[partner].tag end
local lead = 2 * spacing + credit / spacing
if start - cur > lead + EPSILON then
  return {0, math.ceil(origin + (start - lead) * interval - now)}
end

local function firstFree(from)
  local slot = from
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], from, '+inf')) do
    local taken = tonumber(member)
    if taken > slot then break end
    if taken == slot then slot = slot + 1 end
  end
  return slot
end
local own = math.ceil(start - EPSILON)
local notBefore = floorSlot
if blocked > now then notBefore = math.floor((blocked - origin) / interval) end
local slot = firstFree(math.max(own - credit, notBefore))
if not alone and slot > cur and slot < own then slot = firstFree(math.max(own, notBefore)) end
local startsAt = math.max(now, origin + slot * interval, blocked)
local wait = startsAt - now
if wait > maxWait then return {0, math.ceil(wait)} end

redis.call('ZADD', KEYS[2], slot, slot)
redis.call('HSET', KEYS[1], 'origin', string.format('%.3f', origin),
  'p:' .. partner, string.format('%.6f|%.6f|%d', start + spacing, weight, slot))
keepFor(math.ceil(wait + (2 * spacing + credit + 1) * interval) + 60000)
local minute = math.floor(now / 60000)
-- A new minute for this partner: drop the minutes older than the hour (the memory budget does the same).
if redis.call('HINCRBY', KEYS[3], minute .. '|' .. partner, 1) == 1 then
  for _, field in ipairs(redis.call('HKEYS', KEYS[3])) do
    if tonumber(string.match(field, '^(%d+)|')) <= minute - 60 then redis.call('HDEL', KEYS[3], field) end
  end
end
if redis.call('PTTL', KEYS[3]) < 3660000 then redis.call('PEXPIRE', KEYS[3], 3660000) end
return {1, math.ceil(wait)}
`);
