// C side of the Lua dialplan sandbox.
//
// Everything that can longjmp (lua_error, errors raised from hooks and
// allocation failures inside the Lua API, protected calls) and every Lua
// macro Swift cannot import stays in this file's C code: a Lua error must
// never unwind through a Swift frame. Swift only calls these functions and
// reads yielded values with lua_gettop / lua_type / lua_tolstring (strings only) /
// lua_tonumberx / lua_toboolean, none of which can raise.
#ifndef DIALPLAN_HELPERS_H
#define DIALPLAN_HELPERS_H

#include <stddef.h>
#include <lua5.4/lua.h>

/// A buffer this library allocated; free `bytes` with dp_free.
typedef struct dp_buffer {
    unsigned char *bytes;
    size_t length;
} dp_buffer;

void dp_free(void *pointer);

/// Compiles Lua source text (never a binary chunk) to bytecode.
/// `chunkname` follows lua_load ("=default.lua" shows as "default.lua").
/// `strip` drops debug information: smaller and faster to load, but errors
/// raised in that code name no line (scripts keep it; the prelude does not).
/// Returns LUA_OK and fills `bytecode`, or an error status and fills
/// `message` (always a NUL-terminated string).
int dp_compile(const char *source, size_t length, const char *chunkname, int strip,
               dp_buffer *bytecode, dp_buffer *message);

/// Called with a message the prelude has already turned into a string.
typedef void (*dp_log_fn)(void *context, int level, const char *message, size_t length);
/// Called when the script sets call.vars[key]; value is NULL when it is cleared.
typedef void (*dp_setvar_fn)(void *context, const char *key, size_t key_length,
                             const char *value, size_t value_length);

/// One call's sandbox: a lua_State with a limited allocator, the count hook
/// and the coroutine the prelude and script run in.
typedef struct dp_run dp_run;

/// Bits of dp_run_limits.
enum { DP_INSTRUCTIONS_EXCEEDED = 1, DP_MEMORY_REFUSED = 2, DP_TIME_EXCEEDED = 4 };

/// Outcome kinds handed back to the prelude on resume.
enum { DP_OUTCOME_DONE = 0, DP_OUTCOME_BRIDGED = 1, DP_OUTCOME_DIGITS = 2, DP_OUTCOME_FAILED = 3 };

/// NULL when even the empty state does not fit in memory_limit.
dp_run *dp_run_new(size_t memory_limit, int instruction_limit,
                   dp_log_fn log, dp_setvar_fn setvar, void *context);

/// Opens the safe libraries (string.find, match, gmatch and gsub guarded:
/// see "pattern functions" in dialplan_helpers.c), loads the prelude and
/// script bytecode (mode "b", our own compiler's output), decodes `data`
/// (see DialplanData.swift) and readies the coroutine. LUA_OK or an error
/// status (dp_run_error).
int dp_run_load(dp_run *run, const unsigned char *prelude, size_t prelude_length,
                const unsigned char *script, size_t script_length,
                const unsigned char *data, size_t data_length);

/// Resumes the coroutine (the first time it starts the prelude). The outcome
/// of the last request is handed to the prelude when it asks for it;
/// `text` need only stay valid during this call. Returns LUA_YIELD with the
/// request's values on top of dp_run_thread's stack (*count of them),
/// LUA_OK when the script returned, or an error status.
int dp_run_resume(dp_run *run, int outcome_kind, long long code,
                  const char *text, size_t text_length, int answered, int *count);

/// The coroutine, for reading a yielded request.
lua_State *dp_run_thread(dp_run *run);

/// DP_INSTRUCTIONS_EXCEEDED / DP_MEMORY_REFUSED bits seen so far.
int dp_run_limits(const dp_run *run);

/// After an error status: the error message (NULL if the error object is
/// not a string; then `type_name` says what it was), and where the script
/// was when it failed (innermost frame outside the prelude; line 0 if none).
/// Pointers stay valid until the next call on `run`.
void dp_run_error(dp_run *run, const char **message, size_t *length, const char **type_name,
                  char *source, size_t source_capacity, int *line);

/// Bytes the state holds now.
size_t dp_run_memory_used(const dp_run *run);

/// Closes the state and frees `run`.
void dp_run_free(dp_run *run);

#endif
