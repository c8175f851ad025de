/// The Lua code that runs before the script in every call's sandbox.
///
/// It builds `call` and the helpers from the call data, checks every
/// argument (so a bad one is a Lua error at the script's line, and the C
/// functions it calls never need to raise), and turns each asynchronous
/// action into a yield of flat strings, numbers and booleans, which Swift
/// reads without allocating in Lua (see DialplanRun+Requests.swift for the
/// layouts). It gets the C functions as arguments, so the script never sees
/// them; the standard functions it relies on are kept in locals, so a script
/// that replaces `string.find` only breaks itself.
enum Prelude {
    /// Compiled once per process; the same bytecode is loaded for every
    /// call. Stripped of debug information, which halves the time to load
    /// it: the errors it raises name the script's line (error level 2 or 3)
    /// and DialplanRun finds the script's line for the rest.
    static let bytecode: Result<[UInt8], DialplanError> = DialplanScript.bytecode(
        of: Array(source.utf8), chunkName: "=dialplan prelude", kind: .runtime, strip: true)

    static let source = #"""
-- find, match and gsub are the string library's own. The script's
-- string.find and friends are guarded (limits on subject and pattern, see
-- dialplan_helpers.c); the prelude's patterns are fixed and linear.
local yield, clog, csetvar, coutcome, data, script, sfind, smatch, sgsub = ...

local type, tostring, tonumber, error, pairs, ipairs = type, tostring, tonumber, error, pairs, ipairs
local rawget, rawsetmetatable, next = rawget, setmetatable, next
local ssub, slower, supper, sformat = string.sub, string.lower, string.upper, string.format
local tconcat, tsort, tunpack, tpack = table.concat, table.sort, table.unpack, table.pack
local tointeger = math.tointeger

-- Lua runs finalizers with hooks off, out of reach of the instruction
-- limit, so __gc is refused (setmetatable is the only way to get one).
function setmetatable(t, mt)
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
    error("setmetatable: __gc metamethods are not allowed in a dialplan", 2)
  end
  return rawsetmetatable(t, mt)
end

local collect = collectgarbage
function collectgarbage(option)
  if option == "count" then return collect("count") end
  error('collectgarbage: only collectgarbage("count") is available in a dialplan', 2)
end

-- Raises at a line of the script: level 2 is the caller of the function
-- that calls fail, level 3 the caller of that one.
local function fail(level, fmt, ...)
  error(sformat(fmt, ...), level + 1)
end

local function show(v)
  if type(v) == "string" then
    if #v > 40 then v = ssub(v, 1, 40) .. "..." end
    return sformat("%q", v)
  end
  if type(v) == "number" or type(v) == "boolean" then return tostring(v) end
  return "a " .. type(v)
end

local function text_line(v, max)
  return type(v) == "string" and #v <= max and not sfind(v, "%c")
end

local cd, home = data.call, data.country
local by_name, by_extension = {}, {}
for _, u in ipairs(data.users) do
  by_name[u.name] = u
  if u.extension ~= nil and by_extension[u.extension] == nil then by_extension[u.extension] = u end
end
local trunk_list, trunk_set, trunk_down = data.trunks, {}, {}
for _, t in ipairs(trunk_list) do trunk_set[t] = true end
for _, t in ipairs(data.down_trunks) do trunk_down[t] = true end
local dids = data.dids

-- Numbers --------------------------------------------------------------

local function normalise(number, country)
  local s = sgsub(number, "^tel:", "")
  s = sgsub(s, "%(0%)", "")                  -- "+49 (0)30 ...": the 0 is not dialled
  s = sgsub(s, "[%s%-%.%(%)/]", "")
  local digits
  if ssub(s, 1, 1) == "+" then
    digits = ssub(s, 2)
  elseif not sfind(s, "^%d+$") then
    return nil
  elseif country == "1" then                 -- North American numbering plan
    if ssub(s, 1, 3) == "011" then digits = ssub(s, 4)
    elseif #s == 11 and sfind(s, "^1[2-9]") then digits = s
    elseif #s == 10 and sfind(s, "^[2-9]") then digits = "1" .. s
    else return nil end
  elseif ssub(s, 1, 2) == "00" then digits = ssub(s, 3)
  elseif ssub(s, 1, 1) == "0" then digits = country .. ssub(s, 2)
  else return nil end
  if not sfind(digits, "^[1-9]%d*$") or #digits < 7 or #digits > 15 then return nil end
  return "+" .. digits
end

function e164(number, country)
  if type(number) ~= "string" then fail(2, "e164: number must be a string, got %s", show(number)) end
  if country == nil then
    country = home
  elseif type(country) ~= "string" or not sfind(country, "^[1-9]%d?%d?$") then
    fail(2, 'e164: country must be a country code like "49", got %s', show(country))
  end
  return normalise(number, country)
end

function is_international(number)
  if type(number) ~= "string" then fail(2, "is_international: number must be a string, got %s", show(number)) end
  local n = normalise(number, home)
  if n == nil then fail(2, "is_international: %s is not a phone number", show(number)) end
  return ssub(n, 2, #home + 1) ~= home
end

function starts_with(s, prefix)
  if type(s) ~= "string" then fail(2, "starts_with: s must be a string, got %s", show(s)) end
  if type(prefix) ~= "string" then fail(2, "starts_with: prefix must be a string, got %s", show(prefix)) end
  return ssub(s, 1, #prefix) == prefix
end

function match_prefix(number, prefixes)
  if type(number) ~= "string" then fail(2, "match_prefix: number must be a string, got %s", show(number)) end
  if type(prefixes) ~= "table" then fail(2, "match_prefix: prefixes must be a list of strings, got %s", show(prefixes)) end
  local best
  for i, p in ipairs(prefixes) do
    if type(p) ~= "string" then fail(2, "match_prefix: prefixes[%d] must be a string, got %s", i, show(p)) end
    if ssub(number, 1, #p) == p and (best == nil or #p > #best) then best = p end
  end
  return best
end

-- Configuration --------------------------------------------------------------

local function optional_name(fname, name)
  if name ~= nil and type(name) ~= "string" then
    fail(3, "%s: name must be a string or nil, got %s", fname, show(name))
  end
end

function user_exists(name)
  optional_name("user_exists", name)
  return name ~= nil and by_name[name] ~= nil
end

function user_by_extension(extension)
  if type(extension) ~= "string" then fail(2, "user_by_extension: extension must be a string, got %s", show(extension)) end
  local u = by_extension[extension]
  return u and u.name
end

function user_allowed_international(name)
  optional_name("user_allowed_international", name)
  local u = name ~= nil and by_name[name]
  return u and u.international == true or false
end

-- The trunks in failover order, less those whose OPTIONS pings go
-- unanswered (options_interval_s); bridge("trunk:NAME") still reaches one.
function trunks()
  local copy = {}
  for _, t in ipairs(trunk_list) do
    if not trunk_down[t] then copy[#copy + 1] = t end
  end
  return copy
end

-- A DID as E.164: national and "+" forms as e164 reads them; digits alone
-- (as carriers often send and operators copy them) as international
-- without the "+".
local function did_form(number)
  local n = normalise(number, home)
  if n == nil and sfind(number, "^%d+$") then n = normalise("+" .. number, home) end
  return n
end

local dids_e164
function did_user(number)
  if type(number) ~= "string" then fail(2, "did_user: number must be a string, got %s", show(number)) end
  if dids[number] ~= nil then return dids[number] end
  if dids_e164 == nil then                     -- built on first use, in a fixed order
    dids_e164 = {}
    local keys = {}
    for k in pairs(dids) do keys[#keys + 1] = k end
    tsort(keys)
    for _, k in ipairs(keys) do
      local n = did_form(k)
      if n ~= nil and dids_e164[n] == nil then dids_e164[n] = dids[k] end
    end
  end
  local n = did_form(number)
  return n and dids_e164[n]
end

variables = {}
for k, v in pairs(data.variables) do variables[k] = v end

-- Logging --------------------------------------------------------------

local function logger(level)
  return function(...)
    local args = tpack(...)
    for i = 1, args.n do args[i] = tostring(args[i]) end
    local message = tconcat(args, " ", 1, args.n)
    if #message > 2000 then message = ssub(message, 1, 2000) .. " [truncated]" end
    clog(level, message)
  end
end
log = { debug = logger(0), info = logger(1), warn = logger(2), error = logger(3) }
print = log.info

-- The call --------------------------------------------------------------

local headers, lower_headers = {}, {}
for k, v in pairs(cd.headers) do
  headers[k] = v
  lower_headers[slower(k)] = v
end
rawsetmetatable(headers, {
  __index = function(_, k) if type(k) == "string" then return lower_headers[slower(k)] end end,
  __metatable = false,
})

local store = {}
local vars = rawsetmetatable({}, {
  __index = store,
  __newindex = function(_, k, v)
    if type(k) ~= "string" or #k == 0 or #k > 64 then
      fail(2, "call.vars: names must be strings of 1 to 64 bytes, got %s", show(k))
    end
    if type(v) == "number" then v = tostring(v) end
    if v ~= nil and (type(v) ~= "string" or #v > 1024) then
      fail(2, "call.vars.%s: values must be strings (up to 1024 bytes) or numbers, got %s", k, show(v))
    end
    store[k] = v
    csetvar(k, v)
  end,
  __pairs = function() return next, store, nil end,
  __metatable = false,
})

local thecall = {
  from = cd.from, to = cd.to, user = cd.user, direction = cd.direction, trunk = cd.trunk,
  display_name = cd.display_name, id = cd.id, headers = headers, vars = vars,
}
call = thecall

local DONE, BRIDGED, DIGITS, FAILED = 0, 1, 2, 3

-- Hands a request to Swift and returns its outcome: kind, code, text, answered.
-- Whether the gateway answered the call itself (answer, echo, play,
-- collect_digits): hangup then ends a conversation, with 200 by default.
local answered_here = false
local ANSWERING = {answer = true, echo = true, play = true, collect = true}

local function request(what, ...)
  yield(what, ...)
  local kind, code, text, answered = coutcome()
  if ANSWERING[what] and kind ~= FAILED then answered_here = true end
  return kind, code, text, answered
end

local function check_self(self, name)
  if self ~= thecall then
    fail(3, "call:%s: call it as a method, call:%s(...) with a colon", name, name)
  end
end

function thecall.answer(self)
  check_self(self, "answer")
  local kind, _, text = request("answer")
  if kind == FAILED then return nil, text end
  return true
end

function thecall.echo(self)
  check_self(self, "echo")
  local kind, _, text = request("echo")
  if kind == FAILED then return nil, text end
  return true
end

function thecall.hangup(self, code, reason)
  check_self(self, "hangup")
  if code == nil then code = answered_here and 200 or 603 end
  local c = type(code) == "number" and tointeger(code)
  if not c or ((c < 400 or c > 699) and not (answered_here and c == 200)) then
    fail(2, "call:hangup: code must be a SIP status from 400 to 699 (or 200 once the call is answered), got %s",
         show(code))
  end
  if reason ~= nil and not text_line(reason, 128) then
    fail(2, "call:hangup: reason must be one line of text up to 128 bytes, got %s", show(reason))
  end
  yield("hangup", c, reason)
  error("call:hangup: the run went on after hangup", 0)   -- Swift never resumes it
end

function thecall.play(self, what)
  check_self(self, "play")
  local frequency, duration, file
  if type(what) == "string" and ssub(what, 1, 5) == "tone:" then
    local f, d = smatch(what, "^tone:([%d%.]+)$"), nil
    if f == nil then f, d = smatch(what, "^tone:([%d%.]+):([%d%.]+)$") end
    if f ~= nil then frequency, duration = tonumber(f), d == nil and 1 or tonumber(d) end
    if frequency == nil or duration == nil then
      fail(2, 'call:play: a tone is "tone:HZ" or "tone:HZ:SECONDS", got %s', show(what))
    end
  elseif type(what) == "string" then
    file = what
  elseif type(what) == "table" then
    for k in pairs(what) do
      if k ~= "tone" and k ~= "duration" and k ~= "file" then
        fail(2, "call:play: unknown key %s (expected tone, duration or file)", show(k))
      end
    end
    if what.file ~= nil then
      if what.tone ~= nil or what.duration ~= nil then fail(2, "call:play: give either file or tone, not both") end
      file = what.file
      if type(file) ~= "string" then fail(2, "call:play: file must be a string, got %s", show(file)) end
    else
      frequency, duration = what.tone, what.duration
      if duration == nil then duration = 1 end
    end
  else
    fail(2, 'call:play: expected "tone:HZ[:SECONDS]", {tone = HZ, duration = SECONDS} or a file name, got %s', show(what))
  end
  local kind, _, text
  if file ~= nil then
    if file == "" or not text_line(file, 1024) then fail(2, "call:play: bad file name %s", show(file)) end
    kind, _, text = request("play", "file", file)
  else
    if type(frequency) ~= "number" or not (frequency >= 20 and frequency <= 8000) then
      fail(2, "call:play: tone frequency must be 20 to 8000 Hz, got %s", show(frequency))
    end
    if type(duration) ~= "number" or not (duration > 0 and duration <= 3600) then
      fail(2, "call:play: duration must be more than 0 and at most 3600 seconds, got %s", show(duration))
    end
    kind, _, text = request("play", "tone", frequency + 0.0, duration + 0.0)
  end
  if kind == FAILED then return nil, text end
  return true
end

function thecall.collect_digits(self, options)
  check_self(self, "collect_digits")
  if options == nil then options = {} end
  if type(options) ~= "table" then
    fail(2, "call:collect_digits: options must be a table like {max = 4}, got %s", show(options))
  end
  for k in pairs(options) do
    if k ~= "max" and k ~= "timeout" and k ~= "terminator" then
      fail(2, "call:collect_digits: unknown option %s (expected max, timeout or terminator)", show(k))
    end
  end
  local max = options.max
  if max == nil then max = 16 end
  max = type(max) == "number" and tointeger(max)
  if not max or max < 1 or max > 64 then
    fail(2, "call:collect_digits: max must be a whole number from 1 to 64, got %s", show(options.max))
  end
  local timeout = options.timeout
  if timeout == nil then timeout = 5 end
  if type(timeout) ~= "number" or not (timeout > 0 and timeout <= 600) then
    fail(2, "call:collect_digits: timeout must be more than 0 and at most 600 seconds, got %s", show(timeout))
  end
  local terminator = options.terminator
  if terminator ~= nil and (type(terminator) ~= "string" or not sfind(terminator, "^[0-9%*#A-D]$")) then
    fail(2, "call:collect_digits: terminator must be one key: 0-9, *, #, A-D, got %s", show(terminator))
  end
  local kind, _, text = request("collect", max, timeout + 0.0, terminator)
  if kind == FAILED then return nil, text end
  return text or ""
end

local BRIDGE_OPTIONS = {
  caller_id = true, caller_name = true, ring_timeout = true, codecs = true, headers = true, number = true,
  privacy = true, relay = true,
}
local CODECS = { PCMU = true, PCMA = true, G722 = true, OPUS = true }

local function bridge_codecs(codecs)
  if codecs == nil then return nil end
  if type(codecs) ~= "table" or #codecs == 0 then
    fail(3, 'call:bridge: codecs must be a list like {"PCMA", "PCMU"}, got %s', show(codecs))
  end
  local seen, list = {}, {}
  for i, c in ipairs(codecs) do
    local name = type(c) == "string" and supper(c)
    if not name or not CODECS[name] or seen[name] then
      fail(3, "call:bridge: codecs[%d] must be PCMU, PCMA, G722 or OPUS, once each, got %s", i, show(c))
    end
    seen[name] = true
    list[i] = name
  end
  return tconcat(list, ",")
end

-- Appends the headers as name, value pairs to the request, sorted by name.
local function bridge_headers(headers, req)
  if headers == nil then return end
  if type(headers) ~= "table" then
    fail(3, 'call:bridge: headers must be a table like {["X-Account"] = "42"}, got %s', show(headers))
  end
  local names = {}
  for k, v in pairs(headers) do
    if type(k) ~= "string" or #k > 64 or not sfind(k, "^[Xx]%-[%w%-]+$") then
      fail(3, "call:bridge: header names must be X-Something (letters, digits, -), got %s", show(k))
    end
    if not text_line(v, 1024) then
      fail(3, "call:bridge: header %s must be one line of text up to 1024 bytes, got %s", k, show(v))
    end
    names[#names + 1] = k
  end
  if #names > 32 then fail(3, "call:bridge: at most 32 headers") end
  tsort(names)
  for _, k in ipairs(names) do
    req[req.n + 1], req[req.n + 2] = k, headers[k]
    req.n = req.n + 2
  end
end

function thecall.bridge(self, target, options)
  check_self(self, "bridge")
  if type(target) ~= "string" then
    fail(2, 'call:bridge: target must be a string like "trunk:NAME", "user:NAME" or "sip:...", got %s', show(target))
  end
  if options == nil then options = {} end
  if type(options) ~= "table" then fail(2, "call:bridge: options must be a table, got %s", show(options)) end
  for k in pairs(options) do
    if not BRIDGE_OPTIONS[k] then fail(2, "call:bridge: unknown option %s", show(k)) end
  end
  local kind, name, number
  if ssub(target, 1, 6) == "trunk:" then
    kind, name = "trunk", ssub(target, 7)
    if not trunk_set[name] then
      fail(2, "call:bridge: no trunk named %s (trunks: %s)", show(name), tconcat(trunk_list, ", "))
    end
    number = options.number
    if number == nil then number = thecall.to end
    if type(number) ~= "string" or #number > 32 or not sfind(number, "^%+?[%d%*#]+$") then
      fail(2, "call:bridge: the number for a trunk must be digits, * and # with an optional leading +, got %s (give {number = e164(...)})", show(number))
    end
  elseif ssub(target, 1, 5) == "user:" then
    kind, name = "user", ssub(target, 6)
    if #name > 64 or not sfind(name, "^[%w%._%+%-]+$") then
      fail(2, "call:bridge: bad user name %s", show(name))
    end
    if options.number ~= nil then fail(2, "call:bridge: number is only for trunk targets") end
  elseif sfind(target, "^sips?:") then
    kind, name = "uri", target
    if #target > 256 or not sfind(target, "^sips?:[^%s%c]+$") then
      fail(2, "call:bridge: bad SIP URI %s", show(target))
    end
    if options.number ~= nil then fail(2, "call:bridge: number is only for trunk targets") end
  else
    fail(2, 'call:bridge: target must start with "trunk:", "user:", "sip:" or "sips:", got %s', show(target))
  end
  local caller_id = options.caller_id
  if caller_id ~= nil and (type(caller_id) ~= "string" or #caller_id > 64 or not sfind(caller_id, "^[%w%+%-%._%*#]+$")) then
    fail(2, "call:bridge: caller_id must be a number or name (letters, digits, + - . _ * #), got %s", show(caller_id))
  end
  local caller_name = options.caller_name
  if caller_name ~= nil and not text_line(caller_name, 128) then
    fail(2, "call:bridge: caller_name must be one line of text up to 128 bytes, got %s", show(caller_name))
  end
  local ring_timeout = options.ring_timeout
  if ring_timeout ~= nil then
    if type(ring_timeout) ~= "number" or not (ring_timeout > 0 and ring_timeout <= 3600) then
      fail(2, "call:bridge: ring_timeout must be more than 0 and at most 3600 seconds, got %s", show(ring_timeout))
    end
    ring_timeout = ring_timeout + 0.0
  end
  local privacy = options.privacy
  if privacy ~= nil and type(privacy) ~= "boolean" then
    fail(2, "call:bridge: privacy must be true or false, got %s", show(privacy))
  end
  local relay = options.relay
  if relay ~= nil and type(relay) ~= "boolean" then
    fail(2, "call:bridge: relay must be true or false, got %s", show(relay))
  end
  if relay and kind == "user" then fail(2, "call:bridge: relay is only for trunk and sip: targets") end
  -- Holes (nil options) are why the length is kept in n.
  local req = { "bridge", kind, name, number, caller_id, caller_name, ring_timeout, bridge_codecs(options.codecs),
                privacy == true, relay == true, n = 10 }
  bridge_headers(options.headers, req)
  local outcome, code, reason, answered = request(tunpack(req, 1, req.n))
  if outcome == FAILED then
    return { ok = false, code = code, reason = reason, answered = false }
  elseif outcome == BRIDGED then
    return { ok = answered, code = code, reason = reason, answered = answered }
  end
  return { ok = true, code = 200, reason = reason, answered = true }
end

script()
"""#
}
