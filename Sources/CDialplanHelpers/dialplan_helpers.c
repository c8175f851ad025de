// The C half of the dialplan sandbox (see include/dialplan_helpers.h for why
// this exists at all: Lua errors are longjmps and must stay on this side).
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   // memmem (glibc; macOS declares it anyway)
#endif
#include "dialplan_helpers.h"

#include <lua5.4/lauxlib.h>
#include <lua5.4/lualib.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PRELUDE_CHUNKNAME "=dialplan prelude"
#define DP_PRELUDE_ARGUMENTS 9

// A per-state arena. Lua makes many small allocations to set up a state
// (library tables, the prelude's functions and strings), and malloc/free
// for each was a third of a call's cost. Small blocks come from 64 KiB
// chunks by bumping a pointer, freed ones go to a free list per 16-byte
// size class; big blocks use malloc. Closing a state is then freeing its
// chunks, without walking its objects (see dp_run_free).
#define DP_GRAIN 16
#ifndef DP_SMALL_MAX   // -DDP_SMALL_MAX=16 sends nearly everything to malloc, for valgrind
#define DP_SMALL_MAX 512
#endif
#define DP_CLASSES (DP_SMALL_MAX / DP_GRAIN)
#define DP_CHUNK_SIZE (64 * 1024)
#define DP_SPARE_CHUNKS 8

typedef struct dp_chunk { struct dp_chunk *next; } dp_chunk;
// Header of a big block: a doubly linked list, so freeing one is O(1).
typedef struct dp_large { struct dp_large *prev, *next; } dp_large;
_Static_assert(sizeof(dp_large) % DP_GRAIN == 0, "big blocks stay 16-byte aligned");

typedef struct dp_arena {
    dp_chunk *chunks;
    char *bump, *end;
    void *free_lists[DP_CLASSES];
    dp_large *large;
} dp_arena;

// Chunks of finished calls, kept for the next call on this thread (at most
// DP_SPARE_CHUNKS, 512 KiB, per thread, for the thread's lifetime: event
// loop threads live as long as the gateway).
static _Thread_local dp_chunk *spare_chunks;
static _Thread_local int spare_count;

static size_t size_class(size_t size) { return (size + DP_GRAIN - 1) / DP_GRAIN - 1; }

static void *arena_small(dp_arena *arena, size_t size) {
    size_t c = size_class(size);
    void *block = arena->free_lists[c];
    if (block != NULL) {
        arena->free_lists[c] = *(void **)block;
        return block;
    }
    size_t rounded = (c + 1) * DP_GRAIN;
    if ((size_t)(arena->end - arena->bump) < rounded) {
        dp_chunk *chunk = spare_chunks;
        if (chunk != NULL) { spare_chunks = chunk->next; spare_count--; }
        else if ((chunk = malloc(DP_CHUNK_SIZE)) == NULL) return NULL;
        chunk->next = arena->chunks;
        arena->chunks = chunk;
        arena->bump = (char *)chunk + DP_GRAIN;   // the link, padded to the grain
        arena->end = (char *)chunk + DP_CHUNK_SIZE;
    }
    block = arena->bump;
    arena->bump += rounded;
    return block;
}

static void *arena_large(dp_arena *arena, size_t size) {
    dp_large *header = malloc(sizeof(dp_large) + size);
    if (header == NULL) return NULL;
    header->prev = NULL;
    header->next = arena->large;
    if (arena->large) arena->large->prev = header;
    arena->large = header;
    return header + 1;
}

static void arena_free(dp_arena *arena, void *block, size_t size) {
    if (size <= DP_SMALL_MAX) {
        size_t c = size_class(size);
        *(void **)block = arena->free_lists[c];
        arena->free_lists[c] = block;
        return;
    }
    dp_large *header = (dp_large *)block - 1;
    if (header->prev) header->prev->next = header->next; else arena->large = header->next;
    if (header->next) header->next->prev = header->prev;
    free(header);
}

static void arena_release(dp_arena *arena) {
    for (dp_large *header = arena->large, *next; header; header = next) {
        next = header->next;
        free(header);
    }
    for (dp_chunk *chunk = arena->chunks, *next; chunk; chunk = next) {
        next = chunk->next;
        if (spare_count < DP_SPARE_CHUNKS) { chunk->next = spare_chunks; spare_chunks = chunk; spare_count++; }
        else free(chunk);
    }
    memset(arena, 0, sizeof *arena);
}

// What a call's Lua state needs besides the state itself. It is also the
// allocator's userdata, so any C function called from Lua finds it through
// lua_getallocf without touching the registry (which would allocate).
struct dp_run {
    lua_State *state;
    lua_State *thread;          // the coroutine the prelude and script run in
    dp_arena arena;
    size_t memory_limit;
    size_t memory_used;
    int instruction_limit;
    // Instructions counted so far: the hook's finished periods plus what
    // pattern functions were charged (see dp_hook and dp_charge).
    long long counted;
    int period;                 // the count the hook was last armed with
    long long step_started_ns;  // this thread's CPU clock when the current resume began
    int timed_out;              // the budget was spent by the CPU-time check, not by counting
    int limits;                 // DP_INSTRUCTIONS_EXCEEDED | DP_MEMORY_REFUSED
    int started;
    int pending;                // values the last yield left on the thread
    dp_log_fn log;
    dp_setvar_fn setvar;
    void *context;
    // The outcome the prelude reads after a yield; valid during dp_run_resume.
    int outcome_kind;
    long long outcome_code;
    const char *outcome_text;
    size_t outcome_text_length;
    int outcome_answered;
    // Inputs of dp_run_load, read by the protected setup function.
    const unsigned char *prelude, *script, *data;
    size_t prelude_length, script_length, data_length;
    // The string library's own pattern functions, which the script only
    // reaches through the guards (see "pattern functions" below).
    lua_CFunction raw_find, raw_match, raw_gmatch, raw_gsub;
};

void dp_free(void *pointer) { free(pointer); }

static dp_run *run_of(lua_State *L) {
    void *ud = NULL;
    lua_getallocf(L, &ud);
    return (dp_run *)ud;
}

// lua_Alloc with a per-state budget over the arena. Growth beyond the limit
// is refused (Lua then collects garbage and retries once, then raises "not
// enough memory"); shrinking and freeing always succeed, as Lua requires.
static void *dp_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    dp_run *run = (dp_run *)ud;
    size_t old = ptr ? osize : 0;   // without ptr, osize is a type tag
    if (nsize == 0) {
        if (ptr) arena_free(&run->arena, ptr, old);
        run->memory_used -= old;
        return NULL;
    }
    if (nsize > old && nsize - old > run->memory_limit - run->memory_used) {
        run->limits |= DP_MEMORY_REFUSED;
        return NULL;
    }
    void *block;
    if (ptr && old <= DP_SMALL_MAX && nsize <= DP_SMALL_MAX && size_class(old) == size_class(nsize)) {
        block = ptr;   // same size class: the block already fits
    } else if (ptr && old > DP_SMALL_MAX && nsize > DP_SMALL_MAX) {
        dp_large *header = (dp_large *)ptr - 1;
        dp_large *moved = realloc(header, sizeof(dp_large) + nsize);
        if (moved != NULL) {
            if (moved->prev) moved->prev->next = moved; else run->arena.large = moved;
            if (moved->next) moved->next->prev = moved;
            block = moved + 1;
        } else if (nsize <= old) {
            block = ptr;   // a failed shrink keeps the block
        } else {
            return NULL;
        }
    } else {
        block = nsize <= DP_SMALL_MAX ? arena_small(&run->arena, nsize) : arena_large(&run->arena, nsize);
        if (block != NULL) {
            if (ptr) {
                memcpy(block, ptr, old < nsize ? old : nsize);
                arena_free(&run->arena, ptr, old);
            }
        } else if (nsize <= old) {
            // A failed shrink keeps the old block. Freed later as the
            // smaller size, it lands on a smaller class's list (or, if it
            // was big, also stays on the big list until the arena goes):
            // wasteful, never unsafe.
            block = ptr;
        } else {
            return NULL;
        }
    }
    run->memory_used = run->memory_used - old + nsize;
    return block;
}

// The count hook fires every DP_HOOK_PERIOD VM instructions (Lua cannot say
// how far a count has run, so a periodic count is what lets dp_charge add
// the cost of pattern functions to the same budget). A hook call costs
// about as much as a few instructions: well under 1% at this period.
#define DP_HOOK_PERIOD 1000
// See dp_hook: the CPU time one step of a script may take.
#define DP_STEP_CPU_LIMIT_NS (100LL * 1000 * 1000)

static void dp_hook(lua_State *L, lua_Debug *ar);

static void dp_arm(lua_State *L, dp_run *run) {
    long long left = run->instruction_limit - run->counted;
    run->period = left < DP_HOOK_PERIOD ? (int)left : DP_HOOK_PERIOD;
    lua_sethook(L, dp_hook, LUA_MASKCOUNT, run->period);
}

// Once the budget is spent the hook fires on every instruction (count 1),
// so a script cannot catch the error with pcall and carry on. `ar` is the
// hook's record of the running Lua function; NULL when a C function (a
// pattern guard) raises, and then the position is its caller's.
static void dp_exceeded(lua_State *L, dp_run *run, lua_Debug *ar) {
    lua_Debug caller;
    run->limits |= DP_INSTRUCTIONS_EXCEEDED;
    run->period = 1;
    lua_sethook(L, dp_hook, LUA_MASKCOUNT, 1);
    if (ar == NULL && lua_getstack(L, 1, &caller)) ar = &caller;
    const char *what = run->timed_out ? "time limit exceeded (%d ms of CPU in one step)"
                                      : "instruction limit exceeded (%d instructions)";
    int amount = run->timed_out ? (int)(DP_STEP_CPU_LIMIT_NS / 1000000) : run->instruction_limit;
    if (ar != NULL && lua_getinfo(L, "Sl", ar) && ar->currentline > 0) {
        lua_pushfstring(L, "%s:%d: ", ar->short_src, ar->currentline);
        lua_pushfstring(L, what, amount);
        lua_concat(L, 2);
    } else {
        lua_pushfstring(L, what, amount);
    }
    lua_error(L);
}

// The instruction count sees one instruction in a library call however long
// the call runs (s:upper() on a megabyte, == on long strings), so a loop of
// such calls could hold the gateway's event loop for seconds within the
// budget. The hook therefore also watches CPU time: one step (the script's
// run from one action to the next) may take DP_STEP_CPU_LIMIT_NS. A normal
// dialplan takes tens of microseconds for its whole run.

static long long dp_thread_cpu_ns(void) {
    struct timespec now;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now) != 0) return 0;
    return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

static void dp_hook(lua_State *L, lua_Debug *ar) {
    dp_run *run = run_of(L);
    run->counted += run->period;
    if (run->counted >= run->instruction_limit || (run->limits & DP_INSTRUCTIONS_EXCEEDED))
        dp_exceeded(L, run, ar);
    if (run->step_started_ns > 0 && dp_thread_cpu_ns() - run->step_started_ns > DP_STEP_CPU_LIMIT_NS) {
        // Counted as the instruction budget spent: the same error kind, and
        // pcall cannot swallow it (the hook then fires on every instruction).
        run->counted = run->instruction_limit;
        run->timed_out = 1;
        run->limits |= DP_TIME_EXCEEDED;
        dp_exceeded(L, run, ar);
    }
    dp_arm(L, run);
}

// Adds `instructions` to the count. The hook's current period is not cut
// short, so the limit may be overrun by less than DP_HOOK_PERIOD.
static void dp_charge(lua_State *L, dp_run *run, double instructions) {
    run->counted += instructions < (double)run->instruction_limit ? (long long)instructions : run->instruction_limit;
    if (run->counted >= run->instruction_limit) dp_exceeded(L, run, NULL);
}

// --- functions the prelude receives (never given to the script itself) ---

// Yields every argument; the prelude builds them from validated values.
static int dp_lua_yield(lua_State *L) { return lua_yield(L, lua_gettop(L)); }

// log(level, message): the prelude passes an integer and a string.
static int dp_lua_log(lua_State *L) {
    dp_run *run = run_of(L);
    if (run->log && lua_type(L, 2) == LUA_TSTRING) {
        size_t length = 0;
        const char *message = lua_tolstring(L, 2, &length);
        run->log(run->context, (int)lua_tointegerx(L, 1, NULL), message, length);
    }
    return 0;
}

// setvar(key, value or nil): mirrors call.vars into Swift as it changes.
static int dp_lua_setvar(lua_State *L) {
    dp_run *run = run_of(L);
    if (run->setvar && lua_type(L, 1) == LUA_TSTRING) {
        size_t key_length = 0, value_length = 0;
        const char *key = lua_tolstring(L, 1, &key_length);
        const char *value = lua_type(L, 2) == LUA_TSTRING ? lua_tolstring(L, 2, &value_length) : NULL;
        run->setvar(run->context, key, key_length, value, value_length);
    }
    return 0;
}

// outcome() -> kind, code, text or nil, answered. Called by the prelude right
// after a yield returns, inside the resume, so pushing may raise safely.
static int dp_lua_outcome(lua_State *L) {
    dp_run *run = run_of(L);
    lua_pushinteger(L, run->outcome_kind);
    lua_pushinteger(L, (lua_Integer)run->outcome_code);
    if (run->outcome_text) lua_pushlstring(L, run->outcome_text, run->outcome_text_length);
    else lua_pushnil(L);
    lua_pushboolean(L, run->outcome_answered);
    return 4;
}

// --- pattern functions ---
//
// string.find, match, gmatch and gsub run a backtracking matcher inside one
// VM instruction: s:find(".-.-.-y") on 400 bytes ran for 8.7 s. The script
// reaches them only through these guards (the string table is also the
// strings' __index, so s:find(...) goes through them too). A guard
// estimates the call's worst case before it runs, refuses it when that is
// over DP_PATTERN_STEPS_MAX, and otherwise charges it to the instruction
// limit, so that many allowed calls in a loop are bounded like any other
// work. docs/dialplan.md ("Patterns") explains the limits to script writers.
//
// The estimate counts steps of the matcher. Each backtracking repetition
// (*, + or - with more pattern after it; %b and back-references, which scan
// up to the rest of the subject, count as one) takes one of n + 1 lengths of
// an n-byte subject, and an unanchored search also picks its start: for k
// such choices at most C(n + k, k) combinations (about n^k / k!), twice as
// many for each backtracking ?. Each combination reads at most the rest of
// the pattern (its bytes + 2; a set costs its bytes). A repetition followed
// only by capture brackets never backtracks (the match is complete once it
// is reached); its one scan of the subject is the n * pattern-bytes term.
// find with plain = true, or with a pattern without special characters, is
// a plain search: memmem, linear (Lua's own is quadratic at worst: 20 s for
// a 1 MB needle), estimated at a step per byte.
//
// Calibration (the development machine, see docs/dialplan.md): a step took
// at most 4.5 ns over adversarial families at the limit ("%a-%a%a%ab", ".*aaab",
// ".-.-aaab", back-references, %b, sets, ? chains, long literals), usually
// 1-3.5 ns; memmem at most 4.5 ns a byte. A VM instruction with the count
// hook takes about 5 ns: charging 4 steps as one instruction keeps the time
// a call can spend in patterns within a few times that of its budget in Lua.
#define DP_PATTERN_SUBJECT_MAX 1024
#define DP_PATTERN_STEPS_MAX 1e6
#define DP_STEPS_PER_INSTRUCTION 4.0
// A refused call costs about as much as raising its error, ~64 instructions'
// time, whatever it would have cost (pcall loops over refusals).
#define DP_REFUSAL_INSTRUCTIONS 64.0

enum { DP_FIND, DP_MATCH, DP_GMATCH, DP_GSUB };
static const char *const dp_pattern_function_names[] = { "string.find", "string.match", "string.gmatch", "string.gsub" };

typedef struct dp_pattern_shape {
    int anchored;      // a leading ^ (gmatch reads it as a character)
    int repetitions;   // backtracking *, + and -, %b, back-references
    int optionals;     // backtracking ?
} dp_pattern_shape;

// The end of the single-character class at p, as lstrlib's classEnd; a
// malformed class ends the pattern (the library reports it when it runs).
static const char *dp_class_end(const char *p, const char *end) {
    if (*p == '%') return end - p > 2 ? p + 2 : end;
    if (*p == '[') {
        p++;
        if (p < end && *p == '^') p++;
        do {   // the first character is in the set even when it is ']'
            if (p >= end) return end;
            if (*p++ == '%' && p < end) p++;   // %] and the like
        } while (p < end && *p != ']');
        return p < end ? p + 1 : end;
    }
    return p + 1;
}

// Whether only capture brackets follow: then the item before never backtracks.
static int dp_only_captures(const char *p, const char *end) {
    for (; p < end; p++)
        if (*p != '(' && *p != ')') return 0;
    return 1;
}

static void dp_pattern_shape_of(const char *p, size_t length, int which, dp_pattern_shape *shape) {
    const char *end = p + length;
    memset(shape, 0, sizeof *shape);
    if (which != DP_GMATCH && p < end && *p == '^') { shape->anchored = 1; p++; }
    while (p < end) {
        if (*p == '(' || *p == ')' || (*p == '$' && p + 1 == end)) { p++; continue; }
        if (*p == '%' && p + 1 < end) {
            char c = p[1];
            if (c == 'b') {   // %bxy: one scan to the balancing y
                shape->repetitions++;
                p = end - p > 4 ? p + 4 : end;
                continue;
            }
            if (c == 'f') {   // %f[set]: a test, no repetition
                p += 2;
                if (p < end && *p == '[') p = dp_class_end(p, end);
                continue;
            }
            if (c >= '0' && c <= '9') {   // %1: compares up to a whole capture
                shape->repetitions++;
                p += 2;
                continue;
            }
        }
        const char *next = dp_class_end(p, end);
        if (next < end && (*next == '*' || *next == '+' || *next == '-' || *next == '?')) {
            if (!dp_only_captures(next + 1, end)) {
                if (*next == '?') shape->optionals++;
                else shape->repetitions++;
            }
            next++;
        }
        p = next;
    }
}

// The estimate described above; saturates just over DP_PATTERN_STEPS_MAX.
static double dp_pattern_steps(const dp_pattern_shape *shape, size_t subject, size_t pattern) {
    int choices = shape->repetitions + (shape->anchored ? 0 : 1);
    double n = (double)subject, combinations = 1;
    for (int k = 1; k <= choices && combinations <= DP_PATTERN_STEPS_MAX; k++)
        combinations = combinations * (n + k) / k;
    for (int i = 0; i < shape->optionals && combinations <= DP_PATTERN_STEPS_MAX; i++)
        combinations *= 2;
    return combinations * (double)(pattern + 2) + n * (double)pattern;
}

// lstrlib's nospecials, negated: such patterns are searched for as text.
static int dp_has_specials(const char *p, size_t length) {
    static const char specials[] = "^$*+?.([%-";
    for (size_t i = 0; i < length; i++)
        if (memchr(specials, p[i], sizeof specials - 1) != NULL) return 1;
    return 0;
}

// string.find(s, p, init, plain) for a plain search, as lstrlib's (same
// results and argument errors) but linear.
static int dp_plain_find(lua_State *L, dp_run *run, const char *s, size_t ls, const char *p, size_t lp) {
    lua_Integer init = luaL_optinteger(L, 3, 1);
    size_t start;   // lstrlib's posrelatI, minus one
    if (init > 0) start = (size_t)init - 1;
    else if (init == 0 || init < -(lua_Integer)ls) start = 0;
    else start = ls + (size_t)init;
    if (start > ls) {
        lua_pushnil(L);
        return 1;
    }
    double steps = (double)(ls - start) + (double)lp;
    if (steps > DP_PATTERN_STEPS_MAX) {
        dp_charge(L, run, DP_REFUSAL_INSTRUCTIONS);
        return luaL_error(L, "string.find: plain search over more than %d bytes (subject from init %d, text %d)",
                          (int)DP_PATTERN_STEPS_MAX, (int)(ls - start), (int)lp);
    }
    dp_charge(L, run, steps / DP_STEPS_PER_INSTRUCTION);
    const char *found = lp == 0 ? s + start : memmem(s + start, ls - start, p, lp);
    if (found == NULL) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushinteger(L, (lua_Integer)(found - s) + 1);
    lua_pushinteger(L, (lua_Integer)(found - s) + (lua_Integer)lp);
    return 2;
}

static int dp_pattern_guard(lua_State *L, int which) {
    dp_run *run = run_of(L);
    size_t ls, lp;
    // The library's own checks, with its messages ("bad argument #1 to
    // 'find'"): the guard runs in the frame the library function would.
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    const char *name = dp_pattern_function_names[which];
    if (which == DP_FIND && (lua_toboolean(L, 4) || !dp_has_specials(p, lp)))
        return dp_plain_find(L, run, s, ls, p, lp);
    if (ls > DP_PATTERN_SUBJECT_MAX) {
        dp_charge(L, run, DP_REFUSAL_INSTRUCTIONS);
        return luaL_error(L, "%s: subject longer than %d bytes (got %d bytes)",
                          name, DP_PATTERN_SUBJECT_MAX, (int)(ls < INT_MAX ? ls : INT_MAX));
    }
    dp_pattern_shape shape;
    double steps;
    if (lp + 2 > DP_PATTERN_STEPS_MAX) {   // too long to be worth reading
        memset(&shape, 0, sizeof shape);
        steps = (double)lp + 2;
    } else {
        dp_pattern_shape_of(p, lp, which, &shape);
        steps = dp_pattern_steps(&shape, ls, lp);
    }
    if (steps > DP_PATTERN_STEPS_MAX) {
        int items = shape.repetitions + shape.optionals;
        dp_charge(L, run, DP_REFUSAL_INSTRUCTIONS + (double)lp / DP_STEPS_PER_INSTRUCTION);   // and reading it
        return luaL_error(L, "%s: pattern too complex for the dialplan sandbox "
                          "(%d repetition item%s%s, %d-byte pattern, %d-byte subject)",
                          name, items, items == 1 ? "" : "s", shape.anchored ? "" : ", unanchored",
                          (int)(lp < INT_MAX ? lp : INT_MAX), (int)ls);
    }
    dp_charge(L, run, steps / DP_STEPS_PER_INSTRUCTION);
    switch (which) {
    case DP_FIND: return run->raw_find(L);
    case DP_MATCH: return run->raw_match(L);
    case DP_GMATCH: return run->raw_gmatch(L);
    default: return run->raw_gsub(L);
    }
}

static int dp_find(lua_State *L) { return dp_pattern_guard(L, DP_FIND); }
static int dp_match(lua_State *L) { return dp_pattern_guard(L, DP_MATCH); }
static int dp_gmatch(lua_State *L) { return dp_pattern_guard(L, DP_GMATCH); }
static int dp_gsub(lua_State *L) { return dp_pattern_guard(L, DP_GSUB); }

// Replaces string.NAME (the table is on top of the stack) with `guard`;
// returns the library's function.
static lua_CFunction dp_guard(lua_State *L, const char *name, lua_CFunction guard) {
    lua_getfield(L, -1, name);
    lua_CFunction raw = lua_tocfunction(L, -1);
    lua_pop(L, 1);
    lua_pushcfunction(L, guard);
    lua_setfield(L, -2, name);
    return raw;
}

// --- call data: a tiny byte program written by DialplanData.swift ---
// 't' new table; 's' u32le length + bytes: string; 'b' byte: boolean;
// 'f' t[k] = v (pops k, v); 'a' t[#t + 1] = v (pops v). Leaves one value.
static void dp_push_data(lua_State *L, const unsigned char *p, size_t length) {
    int base = lua_gettop(L);
    size_t i = 0;
    while (i < length) {
        luaL_checkstack(L, 3, "dialplan data nests too deep");
        switch (p[i++]) {
        case 't': lua_createtable(L, 0, 0); break;
        case 's': {
            if (length - i < 4) luaL_error(L, "dialplan data: truncated string");
            size_t n = (size_t)p[i] | (size_t)p[i + 1] << 8 | (size_t)p[i + 2] << 16 | (size_t)p[i + 3] << 24;
            i += 4;
            if (length - i < n) luaL_error(L, "dialplan data: truncated string");
            lua_pushlstring(L, (const char *)p + i, n);
            i += n;
            break;
        }
        case 'b':
            if (i >= length) luaL_error(L, "dialplan data: truncated boolean");
            lua_pushboolean(L, p[i++]);
            break;
        case 'f':
            if (lua_gettop(L) - base < 3 || !lua_istable(L, -3)) luaL_error(L, "dialplan data: bad field");
            lua_rawset(L, -3);
            break;
        case 'a':
            if (lua_gettop(L) - base < 2 || !lua_istable(L, -2)) luaL_error(L, "dialplan data: bad append");
            lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
            break;
        default: luaL_error(L, "dialplan data: bad opcode");
        }
    }
    if (lua_gettop(L) - base != 1) luaL_error(L, "dialplan data: not one value");
}

// --- compiling ---

static int dp_writer(lua_State *L, const void *p, size_t size, void *ud) {
    (void)L;
    dp_buffer *out = (dp_buffer *)ud;
    unsigned char *grown = realloc(out->bytes, out->length + size);
    if (grown == NULL) return 1;
    memcpy(grown + out->length, p, size);
    out->bytes = grown;
    out->length += size;
    return 0;
}

struct dp_compile_args {
    const char *source;
    size_t length;
    const char *chunkname;
    int strip;
    dp_buffer *bytecode;
};

static int dp_compile_protected(lua_State *L) {
    struct dp_compile_args *args = lua_touserdata(L, 1);
    // Mode "t": a dialplan file is always source text, never a binary chunk.
    if (luaL_loadbufferx(L, args->source, args->length, args->chunkname, "t") != LUA_OK)
        return lua_error(L);
    if (lua_dump(L, dp_writer, args->bytecode, args->strip) != 0)
        return luaL_error(L, "cannot write bytecode (out of memory)");
    return 0;
}

static void dp_set_message(dp_buffer *message, const char *text, size_t length) {
    message->bytes = malloc(length + 1);
    if (message->bytes == NULL) { message->length = 0; return; }
    memcpy(message->bytes, text, length);
    message->bytes[length] = 0;
    message->length = length;
}

int dp_compile(const char *source, size_t length, const char *chunkname, int strip,
               dp_buffer *bytecode, dp_buffer *message) {
    bytecode->bytes = NULL; bytecode->length = 0;
    message->bytes = NULL; message->length = 0;
    // Compiling runs once per configuration load; a generous budget only
    // keeps a pathological file from taking the machine's memory.
    dp_run budget;
    memset(&budget, 0, sizeof budget);
    budget.memory_limit = (size_t)256 << 20;
    lua_State *L = lua_newstate(dp_alloc, &budget);
    if (L == NULL) { dp_set_message(message, "not enough memory", 17); return LUA_ERRMEM; }
    struct dp_compile_args args = { source, length, chunkname, strip, bytecode };
    lua_pushcfunction(L, dp_compile_protected);
    lua_pushlightuserdata(L, &args);
    int status = lua_pcall(L, 1, 0, 0);
    if (status != LUA_OK) {
        size_t n = 0;
        const char *text = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : "unknown error";
        if (n == 0) n = strlen(text);
        dp_set_message(message, text, n);
        free(bytecode->bytes);
        bytecode->bytes = NULL; bytecode->length = 0;
    }
    lua_close(L);
    arena_release(&budget.arena);
    return status;
}

// --- one call ---

dp_run *dp_run_new(size_t memory_limit, int instruction_limit,
                   dp_log_fn log, dp_setvar_fn setvar, void *context) {
    dp_run *run = calloc(1, sizeof *run);
    if (run == NULL) return NULL;
    run->memory_limit = memory_limit;
    run->instruction_limit = instruction_limit > 0 ? instruction_limit : 1;
    run->log = log;
    run->setvar = setvar;
    run->context = context;
    run->state = lua_newstate(dp_alloc, run);
    if (run->state == NULL) { arena_release(&run->arena); free(run); return NULL; }
    // Set before the coroutine exists: lua_newthread copies the hook and
    // its count, so the coroutine gets the whole budget.
    dp_arm(run->state, run);
    return run;
}

static void dp_open(lua_State *L, const char *name, lua_CFunction open) {
    luaL_requiref(L, name, open, 1);
    lua_pop(L, 1);
}

// Runs under lua_pcall: every allocation in here may raise.
static int dp_setup(lua_State *L) {
    dp_run *run = run_of(L);
    // A call's state lives for milliseconds and rarely makes much garbage:
    // no incremental collection. When memory reaches the limit, Lua's
    // emergency collection still runs before an allocation is refused.
    lua_gc(L, LUA_GCSTOP);
    // Only libraries without access to the outside world: no io, os,
    // package (require), debug or coroutine (the prelude yields for us).
    dp_open(L, LUA_GNAME, luaopen_base);
    dp_open(L, LUA_STRLIBNAME, luaopen_string);
    dp_open(L, LUA_TABLIBNAME, luaopen_table);
    dp_open(L, LUA_MATHLIBNAME, luaopen_math);
    dp_open(L, LUA_UTF8LIBNAME, luaopen_utf8);
    // Base functions that read files or compile code (load could bring in a
    // binary chunk, which can crash the VM); string.dump exposes bytecode.
    static const char *const removed[] = { "dofile", "loadfile", "load", "loadstring", "require", NULL };
    for (const char *const *name = removed; *name; name++) {
        lua_pushnil(L);
        lua_setglobal(L, *name);
    }
    lua_getglobal(L, LUA_STRLIBNAME);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    run->raw_find = dp_guard(L, "find", dp_find);
    run->raw_match = dp_guard(L, "match", dp_match);
    run->raw_gmatch = dp_guard(L, "gmatch", dp_gmatch);
    run->raw_gsub = dp_guard(L, "gsub", dp_gsub);
    lua_pop(L, 1);

    lua_State *thread = lua_newthread(L);
    // Binary chunks load only here, from our own compiler's output.
    if (luaL_loadbufferx(L, (const char *)run->prelude, run->prelude_length, PRELUDE_CHUNKNAME, "b") != LUA_OK)
        return lua_error(L);
    lua_pushcfunction(L, dp_lua_yield);
    lua_pushcfunction(L, dp_lua_log);
    lua_pushcfunction(L, dp_lua_setvar);
    lua_pushcfunction(L, dp_lua_outcome);
    dp_push_data(L, run->data, run->data_length);
    if (luaL_loadbufferx(L, (const char *)run->script, run->script_length, "=script", "b") != LUA_OK)
        return lua_error(L);
    // The prelude's own patterns are fixed and linear: it keeps the
    // library's functions (and so never hits a guard's limit).
    lua_pushcfunction(L, run->raw_find);
    lua_pushcfunction(L, run->raw_match);
    lua_pushcfunction(L, run->raw_gsub);
    // prelude(yield, log, setvar, outcome, data, script, find, match, gsub)
    // waits on the thread.
    lua_xmove(L, thread, 1 + DP_PRELUDE_ARGUMENTS);
    run->thread = thread;
    return 1;   // the thread, which stays on the state's stack as its anchor
}

int dp_run_load(dp_run *run, const unsigned char *prelude, size_t prelude_length,
                const unsigned char *script, size_t script_length,
                const unsigned char *data, size_t data_length) {
    run->prelude = prelude; run->prelude_length = prelude_length;
    run->script = script; run->script_length = script_length;
    run->data = data; run->data_length = data_length;
    run->step_started_ns = dp_thread_cpu_ns();   // setup is timed like a step
    lua_pushcfunction(run->state, dp_setup);   // a light C function: no allocation
    int status = lua_pcall(run->state, 0, 1, 0);
    run->prelude = run->script = run->data = NULL;
    return status;
}

int dp_run_resume(dp_run *run, int outcome_kind, long long code,
                  const char *text, size_t text_length, int answered, int *count) {
    *count = 0;
    if (run->thread == NULL || lua_status(run->thread) != (run->started ? LUA_YIELD : LUA_OK))
        return LUA_ERRRUN;   // Swift never does this; refuse rather than crash
    int arguments = 0;
    if (run->started) lua_pop(run->thread, run->pending);
    else { arguments = DP_PRELUDE_ARGUMENTS; run->started = 1; }
    run->outcome_kind = outcome_kind;
    run->outcome_code = code;
    run->outcome_text = text;
    run->outcome_text_length = text_length;
    run->outcome_answered = answered;
    run->step_started_ns = dp_thread_cpu_ns();
    int status = lua_resume(run->thread, run->state, arguments, count);
    run->outcome_text = NULL;
    run->pending = status == LUA_YIELD ? *count : 0;
    return status;
}

lua_State *dp_run_thread(dp_run *run) { return run->thread; }

int dp_run_limits(const dp_run *run) { return run->limits; }

size_t dp_run_memory_used(const dp_run *run) { return run->memory_used; }

void dp_run_error(dp_run *run, const char **message, size_t *length, const char **type_name,
                  char *source, size_t source_capacity, int *line) {
    // Setup errors are on the state's stack, script errors on the thread's.
    lua_State *L = run->thread && lua_status(run->thread) > LUA_YIELD ? run->thread : run->state;
    *message = NULL; *length = 0; *type_name = NULL;
    *line = 0;
    if (source_capacity > 0) source[0] = 0;
    if (lua_gettop(L) > 0) {
        if (lua_type(L, -1) == LUA_TSTRING) *message = lua_tolstring(L, -1, length);
        else *type_name = luaL_typename(L, -1);
    }
    // After a failed resume the coroutine's frames are still there: the
    // innermost one outside the prelude is where the script was (memory
    // errors and limits carry no position of their own).
    lua_Debug ar;
    for (int level = 0; L == run->thread && lua_getstack(L, level, &ar); level++) {
        if (!lua_getinfo(L, "Sl", &ar) || ar.currentline <= 0) continue;
        if (strcmp(ar.source, PRELUDE_CHUNKNAME) == 0 && *line != 0) continue;
        if (source_capacity > 0) {
            strncpy(source, ar.short_src, source_capacity - 1);
            source[source_capacity - 1] = 0;
        }
        *line = ar.currentline;
        if (strcmp(ar.source, PRELUDE_CHUNKNAME) != 0) break;
    }
}

void dp_run_free(dp_run *run) {
    if (run == NULL) return;
    // Every byte the state holds is in the arena, and the state holds
    // nothing else (no files, no C modules, no finalizers: the prelude
    // refuses __gc), so dropping the arena is closing it, without lua_close
    // walking every object first.
    arena_release(&run->arena);
    free(run);
}
