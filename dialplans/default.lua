-- Tieline's default dialplan. It runs once for every call, with `call`
-- describing it; docs/dialplan.md explains every function used here.
--
--   600        echo test: answer, send the caller's voice back
--   601        tone test: answer, 5 seconds of 1 kHz, hang up
--   602        menu: answer, beep, collect up to 4 keys (# ends), ring that extension
--   a user     by name or extension: ring their browsers
--   a number   normalised to E.164, out through the trunks in order; the
--              next trunk is tried on 5xx or timeout (408), not on 4xx
--              like 486 busy; international numbers only for users allowed them
--   trunk calls ring the user the called number (DID), name or extension names

local ECHO_TEST, TONE_TEST, MENU = "600", "601", "602"

-- The user a dialled string names: a user name, else an extension.
local function find_user(dialled)
  if user_exists(dialled) then return dialled end
  return user_by_extension(dialled)
end

local function echo_test()
  call:answer()
  call:echo()
  call:hangup()
end

local function tone_test()
  call:answer()
  call:play{tone = 1000, duration = 5}
  call:hangup()
end

local function menu()
  call:answer()
  call:play("tone:440:0.5")
  local digits = call:collect_digits{max = 4, timeout = 5, terminator = "#"}
  call.vars.menu = digits or ""
  local user = digits and digits ~= "" and user_by_extension(digits)
  if not user then
    log.info("menu: no extension", digits)
    call:hangup()   -- hangup never returns
  end
  call:bridge("user:" .. user)
end

-- Calls from a trunk never go back out to a trunk: that would make the
-- gateway an open relay for anyone who can reach it.
if call.direction == "trunk" then
  local user = did_user(call.to) or find_user(call.to)
  if not user then
    log.info("no user for", call.to, "from trunk", call.trunk)
    call:hangup(404, "Not Found")
  end
  call:bridge("user:" .. user)
  return   -- a failed bridge ends the call with its code (say 480)
end

if call.to == ECHO_TEST then return echo_test() end
if call.to == TONE_TEST then return tone_test() end
if call.to == MENU then return menu() end

local user = find_user(call.to)
if user then
  call:bridge("user:" .. user)
  return
end

local number = e164(call.to)
if not number then
  call:hangup(404, "Not Found")
end

-- Toll-fraud guard: abroad only for users granted international calls.
if is_international(number) and not user_allowed_international(call.user) then
  log.warn(call.user, "may not call", number)
  call:hangup(403, "international calls are not allowed for this user")
end

-- 5xx and 408 (no answer in time) are the trunk's trouble: try the next
-- trunk. Anything else (486 busy, 404, 603 ...) is the callee's answer,
-- which another trunk would only repeat.
local function try_next_trunk(code)
  return code == 408 or (code >= 500 and code <= 599)
end

for _, trunk in ipairs(trunks()) do
  local result = call:bridge("trunk:" .. trunk, {number = number})
  if result.ok or not try_next_trunk(result.code) then return end
  log.warn("trunk", trunk, "failed with", result.code, result.reason, "for", number)
end
-- Returning without a connected bridge: the gateway ends the call with the
-- last bridge's code (or 404 when nothing was tried, say with no trunks).
