// Lua 5.4's pattern matching (the language of string.find, match, gmatch and gsub: classes,
// sets, the quantifiers * + - ?, captures, %b, %f, back-references), written again so that
// it can be metered: Lua's own matcher runs inside one C call, where neither the instruction
// budget's count hook nor the time limit can stop it, and a pattern such as '.-.-.-.-b'
// backtracks for hours over a few thousand characters. This one charges every step to the
// sandbox (lua_sandbox::charge), which raises the ordinary budget or time-limit error.
// Same results and the same error messages as Lua's (tests/unit/lua_metered_lib_test.cpp
// compares the two).
//
// Errors are raised with luaL_error, which longjmps (Lua is built as C): nothing here may own
// a resource or have a destructor.
#pragma once

#include <cstddef>
#include <cstdint>

struct lua_State;

namespace prom::userproj::lua_pattern {

inline constexpr int max_captures = 32;      // LUA_MAXCAPTURES
inline constexpr int max_match_depth = 200;  // MAXCCALLS of Lua's matcher
inline constexpr std::ptrdiff_t capture_unfinished = -1;
inline constexpr std::ptrdiff_t capture_position = -2;
// Steps are charged to the sandbox in blocks of this many, one instruction each.
inline constexpr unsigned charge_every = 1024;

struct match_state {
    const char* src_init;
    const char* src_end;
    const char* p_end;
    lua_State* L;
    int match_depth;
    int level;
    unsigned steps;  // since the last charge
    struct {
        const char* init;
        std::ptrdiff_t len;
    } capture[max_captures];
};

void prepare(match_state& ms, lua_State* L, const char* s, std::size_t ls, const char* p,
             std::size_t lp);
// Before each attempt at a new position.
void reset(match_state& ms);
// The end of the match of pattern `p` at `s`, or nullptr.
const char* match(match_state& ms, const char* s, const char* p);
// Charges the steps not yet charged (call once the matching is over).
void settle(match_state& ms);

// Pushes the captures of the last match (the whole match [s, e) when there are none and s is
// not null); returns how many.
int push_captures(match_state& ms, const char* s, const char* e);
// Capture i (0-based): its length, or capture_position once its position was pushed.
std::ptrdiff_t get_capture(match_state& ms, int i, const char* s, const char* e, const char** cap);
void push_capture(match_state& ms, int i, const char* s, const char* e);

}  // namespace prom::userproj::lua_pattern
