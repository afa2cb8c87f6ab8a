import { createHash } from 'node:crypto';

/**
 * The one Lua script behind {@link RedisBudgetStore}: every operation is a
 * single atomic EVALSHA over all the counters of a call.
 *
 * Layout: each counter is two keys, a hash (`sp`/`st` spent pico-USD/tokens,
 * `rp`/`rt` reserved) and a sorted set of live reservations scored by expiry
 * (member `id|pico|tokens`). Lapsed reservations are removed and given back
 * inside the script before a counter is read, so a crashed worker holds budget
 * for one TTL at most.
 *
 * A sliding-window counter also keeps its spend in buckets (fields `b:<start ms>`
 * = `pico|tokens`, with `rw`/`rb` its window and bucket ms); before it is read,
 * buckets that left the window are dropped and `sp`/`st` rewritten to their sum.
 *
 * Money is exact: amounts travel and are stored as decimal strings of integer
 * pico-USD, and the script computes on (whole dollars, pico remainder) pairs,
 * because Lua numbers are doubles (exact only to 2^53 pico-USD, about $9,007).
 *
 * ARGV[1] op, ARGV[2] now (epoch ms).
 * - `reserve`: ARGV[3] member, [4] expiresAt, [5] pico, [6] tokens, [7] check
 *   (`projected`/`exhausted`), then per counter: limit pico (`''` none),
 *   limit tokens (`''` none), ttl ms (`0` none), sliding window ms and bucket ms
 *   (`''` for a calendar counter). Returns `{'ok'}` or
 *   `{'refused', index, unit, current, spent, reserved}`.
 * - `commit`: ARGV[3] member to release (`''` none), [4] number of release
 *   counters r (the first r key pairs), [5] pico, [6] tokens, then per spend
 *   counter: ttl ms, usd thresholds, token thresholds (comma-separated), sliding
 *   window ms and bucket ms (`''` for a calendar counter).
 *   Returns flat `index, unit, threshold, spent` quadruples of crossed alerts.
 * - `read`: returns flat `sp, st, rp, rt` per counter.
 */
export const REDIS_BUDGET_SCRIPT: string = `
local UNIT = 1000000000000
local op = ARGV[1]
local now = tonumber(ARGV[2])

local function parse(s)
  if not s or s == '' then return {0, 0} end
  local n = #s
  if n <= 12 then return {0, tonumber(s)} end
  return {tonumber(string.sub(s, 1, n - 12)), tonumber(string.sub(s, n - 11))}
end

local function fmt(v)
  if v[1] == 0 then return string.format('%.0f', v[2]) end
  return string.format('%.0f', v[1]) .. string.format('%012.0f', v[2])
end

local function add(a, b)
  local hi, lo = a[1] + b[1], a[2] + b[2]
  if lo >= UNIT then lo = lo - UNIT; hi = hi + 1 end
  return {hi, lo}
end

local function sub(a, b)
  local hi, lo = a[1] - b[1], a[2] - b[2]
  if lo < 0 then lo = lo + UNIT; hi = hi - 1 end
  if hi < 0 then return {0, 0} end
  return {hi, lo}
end

local function cmp(a, b)
  if a[1] ~= b[1] then if a[1] < b[1] then return -1 else return 1 end end
  if a[2] ~= b[2] then if a[2] < b[2] then return -1 else return 1 end end
  return 0
end

local function refuses(committed, estimate, limit, check)
  if cmp(committed, limit) >= 0 then return true end
  return check == 'projected' and cmp(add(committed, estimate), limit) > 0
end

local function held(member)
  local pico, tokens = string.match(member, '|(%d+)|(%d+)$')
  return parse(pico), parse(tokens)
end

local function lapse(h, z)
  local expired = redis.call('ZRANGEBYSCORE', z, '-inf', now, 'LIMIT', 0, 512)
  if #expired == 0 then return end
  redis.call('ZREM', z, unpack(expired))
  if redis.call('EXISTS', h) == 0 then return end
  local v = redis.call('HMGET', h, 'rp', 'rt')
  local rp, rt = parse(v[1]), parse(v[2])
  for i = 1, #expired do
    local pico, tokens = held(expired[i])
    rp = sub(rp, pico)
    rt = sub(rt, tokens)
  end
  redis.call('HSET', h, 'rp', fmt(rp), 'rt', fmt(rt))
end

-- A sliding window keeps its spend in buckets 'b:<start ms>' = 'pico|tokens' (and 'rw', 'rb':
-- window and bucket ms); sp/st are rewritten to the sum of the buckets still in the window.
local function slide(h)
  local rw = redis.call('HGET', h, 'rw')
  if not rw then return end
  local window, bucket = tonumber(rw), tonumber(redis.call('HGET', h, 'rb'))
  local all = redis.call('HGETALL', h)
  local sp, st = {0, 0}, {0, 0}
  for i = 1, #all, 2 do
    local start = string.match(all[i], '^b:(%d+)$')
    if start then
      if tonumber(start) + bucket + window <= now then
        redis.call('HDEL', h, all[i])
      else
        local pico, tokens = string.match(all[i + 1], '^(%d+)|(%d+)$')
        sp = add(sp, parse(pico)); st = add(st, parse(tokens))
      end
    end
  end
  redis.call('HSET', h, 'sp', fmt(sp), 'st', fmt(st))
end

local function prepare(h, z)
  lapse(h, z)
  slide(h)
end

local function rolling(h, window, bucket)
  if window == '' then return end
  redis.call('HSET', h, 'rw', window, 'rb', bucket)
end

local function expire(h, z, ttl)
  if ttl > 0 then
    redis.call('PEXPIRE', h, ttl)
    redis.call('PEXPIRE', z, ttl)
  end
end

if op == 'reserve' then
  local member, expiresAt = ARGV[3], ARGV[4]
  local pico, tokens, check = parse(ARGV[5]), parse(ARGV[6]), ARGV[7]
  local n = #KEYS / 2
  local reserved = {}
  for i = 1, n do
    local h, z = KEYS[2 * i - 1], KEYS[2 * i]
    prepare(h, z)
    local v = redis.call('HMGET', h, 'sp', 'st', 'rp', 'rt')
    local rp, rt = parse(v[3]), parse(v[4])
    local usd, tok = add(parse(v[1]), rp), add(parse(v[2]), rt)
    local base = 8 + (i - 1) * 5
    if ARGV[base] ~= '' and refuses(usd, pico, parse(ARGV[base]), check) then
      return {'refused', tostring(i - 1), 'usd', fmt(usd), fmt(parse(v[1])), fmt(rp)}
    end
    if ARGV[base + 1] ~= '' and refuses(tok, tokens, parse(ARGV[base + 1]), check) then
      return {'refused', tostring(i - 1), 'tokens', fmt(tok), fmt(parse(v[2])), fmt(rt)}
    end
    reserved[i] = {rp, rt}
  end
  for i = 1, n do
    local h, z = KEYS[2 * i - 1], KEYS[2 * i]
    if not redis.call('ZSCORE', z, member) then
      redis.call('ZADD', z, expiresAt, member)
      redis.call('HSET', h, 'rp', fmt(add(reserved[i][1], pico)), 'rt', fmt(add(reserved[i][2], tokens)))
    end
    local base = 8 + (i - 1) * 5
    rolling(h, ARGV[base + 3], ARGV[base + 4])
    expire(h, z, tonumber(ARGV[base + 2]))
  end
  return {'ok'}
end

-- Appends (index, unit, threshold position, spent) for each threshold of the comma-separated list
-- that a booking from before to after crossed.
local function crossed(crossings, index, unit, list, before, after)
  local k = 0
  for t in string.gmatch(list, '%d+') do
    local tv = parse(t)
    if cmp(before, tv) < 0 and cmp(after, tv) >= 0 then
      table.insert(crossings, index); table.insert(crossings, unit)
      table.insert(crossings, tostring(k)); table.insert(crossings, fmt(after))
    end
    k = k + 1
  end
end

if op == 'commit' then
  local member, r = ARGV[3], tonumber(ARGV[4])
  if member ~= '' then
    local pico, tokens = held(member)
    for i = 1, r do
      local h, z = KEYS[2 * i - 1], KEYS[2 * i]
      prepare(h, z)
      if redis.call('ZREM', z, member) == 1 and redis.call('EXISTS', h) == 1 then
        local v = redis.call('HMGET', h, 'rp', 'rt')
        redis.call('HSET', h, 'rp', fmt(sub(parse(v[1]), pico)), 'rt', fmt(sub(parse(v[2]), tokens)))
      end
    end
  end
  local pico, tokens = parse(ARGV[5]), parse(ARGV[6])
  local m = #KEYS / 2 - r
  local crossings = {}
  for j = 1, m do
    local h, z = KEYS[2 * (r + j) - 1], KEYS[2 * (r + j)]
    prepare(h, z)
    local v = redis.call('HMGET', h, 'sp', 'st')
    local sp0, st0 = parse(v[1]), parse(v[2])
    local sp1, st1 = add(sp0, pico), add(st0, tokens)
    redis.call('HSET', h, 'sp', fmt(sp1), 'st', fmt(st1))
    local base = 7 + (j - 1) * 5
    if ARGV[base + 3] ~= '' then
      rolling(h, ARGV[base + 3], ARGV[base + 4])
      local bucket = tonumber(ARGV[base + 4])
      local field = 'b:' .. string.format('%.0f', math.floor(now / bucket) * bucket)
      local old = redis.call('HGET', h, field)
      local bp, bt = {0, 0}, {0, 0}
      if old then
        local p0, t0 = string.match(old, '^(%d+)|(%d+)$')
        bp, bt = parse(p0), parse(t0)
      end
      redis.call('HSET', h, field, fmt(add(bp, pico)) .. '|' .. fmt(add(bt, tokens)))
    end
    expire(h, z, tonumber(ARGV[base]))
    crossed(crossings, tostring(j - 1), 'usd', ARGV[base + 1], sp0, sp1)
    crossed(crossings, tostring(j - 1), 'tokens', ARGV[base + 2], st0, st1)
  end
  return crossings
end

if op == 'read' then
  local out = {}
  for i = 1, #KEYS / 2 do
    local h, z = KEYS[2 * i - 1], KEYS[2 * i]
    prepare(h, z)
    local v = redis.call('HMGET', h, 'sp', 'st', 'rp', 'rt')
    for f = 1, 4 do table.insert(out, fmt(parse(v[f]))) end
  end
  return out
end

return redis.error_reply('costspan budget script: unknown op ' .. tostring(op))
`;

/** SHA-1 of {@link REDIS_BUDGET_SCRIPT}, for EVALSHA. */
export const REDIS_BUDGET_SCRIPT_SHA: string = createHash('sha1').update(REDIS_BUDGET_SCRIPT).digest('hex');
