#include "userproj/lua_metered_lib.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <limits>
#include <lua.hpp>
#include <string_view>

#include "userproj/lua_pattern.hpp"
#include "userproj/lua_sandbox.hpp"

// Every function here is a lua_CFunction: Lua errors longjmp through them, so nothing on their
// stack may have a destructor (lua_pattern.hpp).
namespace prom::userproj {

namespace {

using lua_pattern::match_state;

// A start position of string.find/match/gmatch (1-based, negative from the end) as an offset
// + 1, clipped to [1, len + 1] from below as Lua does (above, the caller checks).
std::size_t start_position(lua_Integer pos, std::size_t len) {
    if (pos > 0) return static_cast<std::size_t>(pos);
    if (pos == 0) return 1;
    if (pos < -static_cast<lua_Integer>(len)) return 1;
    return len + static_cast<std::size_t>(pos) + 1;
}

// How many values past the first a lookup of a missing key in the value at `idx` may visit:
// the length of its chain of `event` ("__index" or "__newindex") metamethods that are not
// functions, which Lua walks inside one VM instruction or C call, up to 2000 links (its
// MAXTAGLOOP). A function in the chain runs Lua code, which the count hook sees: the chain
// stops there.
std::uint64_t lookup_chain(lua_State* L, int idx, const char* event) {
    constexpr std::uint64_t lua_max_chain = 2000;
    std::uint64_t links = 0;
    lua_pushvalue(L, idx);
    while (links < lua_max_chain && lua_getmetatable(L, -1)) {
        lua_pushstring(L, event);
        const int type = lua_rawget(L, -2);
        if (type == LUA_TNIL || type == LUA_TFUNCTION) {
            lua_pop(L, 2);  // the field and the metatable
            break;
        }
        lua_replace(L, -3);  // the next value in the chain takes the current one's place
        lua_pop(L, 1);       // the metatable
        ++links;
    }
    lua_pop(L, 1);
    return links;
}

// The longer of the value's two chains: what one read or write of a missing element costs
// beyond the element itself.
std::uint64_t element_chain(lua_State* L, int idx) {
    return std::max(lookup_chain(L, idx, "__index"), lookup_chain(L, idx, "__newindex"));
}

// Charges `elements` accesses that each may walk `chain` links (found from outside: 2000
// tables chained by __index made table.unpack walk 2 billion links in one C call, far past
// the time limit, which only the count hook checked). Saturates rather than wraps.
void charge_chained(lua_State* L, std::uint64_t elements, std::uint64_t chain) {
    if (elements == 0 || chain == 0) return;
    const std::uint64_t most = std::numeric_limits<std::uint64_t>::max() / chain;
    lua_sandbox::charge(
        L, elements > most ? std::numeric_limits<std::uint64_t>::max() : elements * chain);
}

bool has_specials(const char* p, std::size_t lp) {
    for (std::size_t i = 0; i < lp; i++) {
        if (p[i] != '\0' && std::strchr("^$*+?.([%-", p[i])) return true;
    }
    return false;
}

// glibc's memmem is linear (two-way), unlike Lua's memchr + memcmp loop; the bytes it reads
// count like bytes copied.
const char* find_plain(lua_State* L, const char* s, std::size_t ls, const char* p, std::size_t lp) {
    if (lp == 0) return s;
    if (lp > ls) return nullptr;
    lua_sandbox::charge(L, (ls + lp) / lua_sandbox::bytes_per_instruction + 1);
    return static_cast<const char*>(::memmem(s, ls, p, lp));
}

int find_or_match(lua_State* L, bool find) {
    std::size_t ls = 0;
    std::size_t lp = 0;
    const char* s = luaL_checklstring(L, 1, &ls);
    const char* p = luaL_checklstring(L, 2, &lp);
    const std::size_t init = start_position(luaL_optinteger(L, 3, 1), ls) - 1;
    if (init > ls) {
        luaL_pushfail(L);
        return 1;
    }
    if (find && (lua_toboolean(L, 4) || !has_specials(p, lp))) {
        if (const char* found = find_plain(L, s + init, ls - init, p, lp)) {
            lua_pushinteger(L, (found - s) + 1);
            lua_pushinteger(L, (found - s) + static_cast<lua_Integer>(lp));
            return 2;
        }
    } else {
        match_state ms;
        const char* s1 = s + init;
        const bool anchor = lp > 0 && *p == '^';
        if (anchor) {
            p++;
            lp--;
        }
        lua_pattern::prepare(ms, L, s, ls, p, lp);
        do {
            lua_pattern::reset(ms);
            if (const char* end = lua_pattern::match(ms, s1, p)) {
                lua_pattern::settle(ms);
                if (find) {
                    lua_pushinteger(L, (s1 - s) + 1);
                    lua_pushinteger(L, end - s);
                    return lua_pattern::push_captures(ms, nullptr, nullptr) + 2;
                }
                return lua_pattern::push_captures(ms, s1, end);
            }
        } while (s1++ < ms.src_end && !anchor);
        lua_pattern::settle(ms);
    }
    luaL_pushfail(L);
    return 1;
}

int metered_find(lua_State* L) { return find_or_match(L, true); }
int metered_match(lua_State* L) { return find_or_match(L, false); }

struct gmatch_state {
    const char* src;  // where the next search starts; nullptr: past the end
    const char* p;
    const char* last_match;
    match_state ms;
};

int gmatch_step(lua_State* L) {
    auto* gm = static_cast<gmatch_state*>(lua_touserdata(L, lua_upvalueindex(3)));
    if (!gm->src) return 0;
    gm->ms.L = L;
    for (const char* src = gm->src; src <= gm->ms.src_end; src++) {
        lua_pattern::reset(gm->ms);
        const char* end = lua_pattern::match(gm->ms, src, gm->p);
        if (end && end != gm->last_match) {
            lua_pattern::settle(gm->ms);
            gm->src = gm->last_match = end;
            return lua_pattern::push_captures(gm->ms, src, end);
        }
    }
    lua_pattern::settle(gm->ms);
    gm->src = nullptr;
    return 0;
}

int metered_gmatch(lua_State* L) {
    std::size_t ls = 0;
    std::size_t lp = 0;
    const char* s = luaL_checklstring(L, 1, &ls);
    const char* p = luaL_checklstring(L, 2, &lp);
    const std::size_t init = start_position(luaL_optinteger(L, 3, 1), ls) - 1;
    lua_settop(L, 2);  // the strings stay alive as the closure's upvalues
    auto* gm = static_cast<gmatch_state*>(lua_newuserdatauv(L, sizeof(gmatch_state), 0));
    lua_pattern::prepare(gm->ms, L, s, ls, p, lp);
    gm->src = init > ls ? nullptr : s + init;
    gm->p = p;
    gm->last_match = nullptr;
    lua_pushcclosure(L, gmatch_step, 3);
    return 1;
}

// A replacement string: %0 the match, %1-%9 the captures, %% a '%'.
void add_replacement_string(match_state& ms, luaL_Buffer* b, const char* s, const char* e) {
    lua_State* L = ms.L;
    std::size_t l = 0;
    const char* news = lua_tolstring(L, 3, &l);
    const char* p = nullptr;
    while ((p = static_cast<const char*>(std::memchr(news, '%', l))) != nullptr) {
        luaL_addlstring(b, news, static_cast<std::size_t>(p - news));
        p++;  // the string ends with '\0', so *p is readable
        if (*p == '%') {
            luaL_addchar(b, *p);
        } else if (*p == '0') {
            luaL_addlstring(b, s, static_cast<std::size_t>(e - s));
        } else if (std::isdigit(static_cast<unsigned char>(*p))) {
            const char* cap = nullptr;
            const std::ptrdiff_t len = lua_pattern::get_capture(ms, *p - '1', s, e, &cap);
            if (len == lua_pattern::capture_position) {
                luaL_addvalue(b);  // the position get_capture pushed
            } else {
                luaL_addlstring(b, cap, static_cast<std::size_t>(len));
            }
        } else {
            luaL_error(L, "invalid use of '%c' in replacement string", '%');
        }
        l -= static_cast<std::size_t>(p + 1 - news);
        news = p + 1;
    }
    luaL_addlstring(b, news, l);
}

// Adds the replacement of the match [s, e); false when it is the match itself.
bool add_replacement(match_state& ms, luaL_Buffer* b, const char* s, const char* e, int type) {
    lua_State* L = ms.L;
    switch (type) {
        case LUA_TFUNCTION: {
            lua_pushvalue(L, 3);
            const int n = lua_pattern::push_captures(ms, s, e);
            lua_call(L, n, 1);
            break;
        }
        case LUA_TTABLE:
            lua_pattern::push_capture(ms, 0, s, e);
            lua_gettable(L, 3);
            break;
        default:  // a number or a string
            add_replacement_string(ms, b, s, e);
            return true;
    }
    if (!lua_toboolean(L, -1)) {  // nil or false: the match stays
        lua_pop(L, 1);
        luaL_addlstring(b, s, static_cast<std::size_t>(e - s));
        return false;
    }
    if (!lua_isstring(L, -1)) {
        luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    }
    luaL_addvalue(b);
    return true;
}

int metered_gsub(lua_State* L) {
    std::size_t srcl = 0;
    std::size_t lp = 0;
    const char* src = luaL_checklstring(L, 1, &srcl);
    const char* p = luaL_checklstring(L, 2, &lp);
    const char* last_match = nullptr;
    const int type = lua_type(L, 3);
    const lua_Integer max_s = luaL_optinteger(L, 4, static_cast<lua_Integer>(srcl) + 1);
    const bool anchor = lp > 0 && *p == '^';
    lua_Integer n = 0;
    bool changed = false;
    luaL_argexpected(
        L,
        type == LUA_TNUMBER || type == LUA_TSTRING || type == LUA_TFUNCTION || type == LUA_TTABLE,
        3, "string/function/table");
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    if (anchor) {
        p++;
        lp--;
    }
    // A table of replacements is looked up once per match, through its __index chain.
    const std::uint64_t repl_chain = type == LUA_TTABLE ? lookup_chain(L, 3, "__index") : 0;
    match_state ms;
    lua_pattern::prepare(ms, L, src, srcl, p, lp);
    while (n < max_s) {
        lua_pattern::reset(ms);
        const char* e = lua_pattern::match(ms, src, p);
        if (e && e != last_match) {
            n++;
            charge_chained(L, 1, repl_chain);
            changed = add_replacement(ms, &b, src, e, type) || changed;
            src = last_match = e;
        } else if (src < ms.src_end) {
            luaL_addchar(&b, *src++);
        } else {
            break;
        }
        if (anchor) break;
    }
    lua_pattern::settle(ms);
    if (!changed) {
        lua_pushvalue(L, 1);
    } else {
        luaL_addlstring(&b, src, static_cast<std::size_t>(ms.src_end - src));
        luaL_pushresult(&b);
    }
    lua_pushinteger(L, n);
    return 2;
}

// Runs the original C function (upvalue 1) on this call's arguments, in this call's frame:
// its errors then name the Lua line that called the library function, as Lua's do ("lua:3:
// too many results to unpack"), which a lua_call from here would not. The functions
// replaced this way use no upvalues of their own.
int call_original(lua_State* L) { return lua_tocfunction(L, lua_upvalueindex(1))(L); }

// A repetition of something non-empty is paid for by the allocation of the result; of an
// empty string and separator, nothing is allocated and Lua still loops n times.
int metered_rep(lua_State* L) {
    std::size_t l = 0;
    std::size_t lsep = 0;
    luaL_checklstring(L, 1, &l);
    const lua_Integer n = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &lsep);
    if (n > 0 && l + lsep == 0) {
        lua_sandbox::charge(L,
                            static_cast<std::uint64_t>(n) / lua_sandbox::bytes_per_instruction + 1);
    }
    return call_original(L);
}

// utf8.len, utf8.codepoint and utf8.offset walk their string byte by byte without running
// an instruction or allocating: a loop over utf8.len of a 25 MB string ran 11 times past the
// time limit between two looks of the count hook. They pay for the whole string up front.
int metered_utf8_scan(lua_State* L) {
    std::size_t l = 0;
    luaL_checklstring(L, 1, &l);
    lua_sandbox::charge(L, l / lua_sandbox::bytes_per_instruction + 1);
    return call_original(L);
}

// Moving, inserting and removing cost one instruction per element they touch: with a range
// of 2^40, or a __len that answers 2^50, Lua's versions move nils for hours without
// allocating. Charges the positions from `from` to `to` (none when `to` <= `from`), each
// also `chain` more for the metamethod chain its reads and writes may walk.
void charge_span(lua_State* L, lua_Integer from, lua_Integer to, std::uint64_t chain = 0) {
    if (to > from) {
        const auto n = static_cast<std::uint64_t>(to) - static_cast<std::uint64_t>(from);
        lua_sandbox::charge(L, n);
        charge_chained(L, n, chain);
    }
}

int metered_move(lua_State* L) {
    const lua_Integer f = luaL_checkinteger(L, 2);
    const lua_Integer e = luaL_checkinteger(L, 3);
    const int destination = lua_isnoneornil(L, 5) ? 1 : 5;
    charge_span(L, f, e, element_chain(L, 1) + element_chain(L, destination));
    return call_original(L);
}

// table.unpack and table.concat read each element of a range in one C call. Without
// metatables that is paid for by the stack or the buffer they fill; through a chain of
// __index values, each missing element walks the chain (charge_chained). The range's end
// is taken once, here, and handed to Lua's function, so a __len that answers small to this
// count and large to the second cannot slip past it. Upvalue 1: Lua's function.
// The range's end: argument `arg`, or #t when it is absent, written back as the argument.
lua_Integer pin_range_end(lua_State* L, int arg) {
    const lua_Integer e = lua_isnoneornil(L, arg) ? luaL_len(L, 1) : luaL_checkinteger(L, arg);
    lua_settop(L, arg);
    lua_pushinteger(L, e);
    lua_replace(L, arg);
    return e;
}

int metered_unpack(lua_State* L) {
    const lua_Integer i = luaL_optinteger(L, 2, 1);
    const lua_Integer e = pin_range_end(L, 3);
    if (i <= e) {
        const auto n = static_cast<lua_Unsigned>(e) - static_cast<lua_Unsigned>(i);
        // More than a Lua stack holds (LUAI_MAXSTACK, a million slots) is refused by Lua's
        // function before it reads anything ("too many results to unpack"): no charge then.
        constexpr lua_Unsigned lua_max_stack = 1'000'000;
        if (n < lua_max_stack) charge_chained(L, n + 1, lookup_chain(L, 1, "__index"));
    }
    return call_original(L);
}

int metered_concat(lua_State* L) {
    luaL_optlstring(L, 2, "", nullptr);
    const lua_Integer i = luaL_optinteger(L, 3, 1);
    const lua_Integer e = pin_range_end(L, 4);
    if (i <= e) {
        charge_chained(L, static_cast<lua_Unsigned>(e) - static_cast<lua_Unsigned>(i) + 1,
                       lookup_chain(L, 1, "__index"));
    }
    return call_original(L);
}

// Lua's checktab: a table, or a value whose metatable has what the function uses.
bool has_field(lua_State* L, const char* key, int n) {
    lua_pushstring(L, key);
    return lua_rawget(L, -n) != LUA_TNIL;
}

void check_table_rw(lua_State* L) {
    if (lua_type(L, 1) == LUA_TTABLE) return;
    int n = 1;
    if (lua_getmetatable(L, 1) && has_field(L, "__index", ++n) && has_field(L, "__newindex", ++n) &&
        has_field(L, "__len", ++n)) {
        lua_pop(L, n);
    } else {
        luaL_checktype(L, 1, LUA_TTABLE);  // raises Lua's message
    }
}

int metered_insert(lua_State* L) {
    check_table_rw(L);
    const lua_Integer e = luaL_intop(+, luaL_len(L, 1), 1);  // the first empty element
    lua_Integer pos = e;
    switch (lua_gettop(L)) {
        case 2:
            break;
        case 3:
            pos = luaL_checkinteger(L, 2);
            luaL_argcheck(L, static_cast<lua_Unsigned>(pos) - 1u < static_cast<lua_Unsigned>(e), 2,
                          "position out of bounds");
            charge_span(L, pos, e, element_chain(L, 1));
            for (lua_Integer i = e; i > pos; i--) {
                lua_geti(L, 1, i - 1);
                lua_seti(L, 1, i);
            }
            break;
        default:
            return luaL_error(L, "wrong number of arguments to 'insert'");
    }
    lua_seti(L, 1, pos);
    return 0;
}

int metered_remove(lua_State* L) {
    check_table_rw(L);
    const lua_Integer size = luaL_len(L, 1);
    lua_Integer pos = luaL_optinteger(L, 2, size);
    if (pos != size) {
        // Argument 1, not 2, in the message: so says the Lua of Debian 12 (5.4.4) this is
        // compared with (tests/unit/lua_metered_lib_test.cpp).
        luaL_argcheck(L, static_cast<lua_Unsigned>(pos) - 1u <= static_cast<lua_Unsigned>(size), 1,
                      "position out of bounds");
    }
    charge_span(L, pos, size, element_chain(L, 1));
    lua_geti(L, 1, pos);
    for (; pos < size; pos++) {
        lua_geti(L, 1, pos + 1);
        lua_seti(L, 1, pos);
    }
    lua_pushnil(L);
    lua_seti(L, 1, pos);
    return 1;
}

// table.sort with its comparator always in Lua: the default comparison runs in C, where the
// count hook never fires, so sorting many long strings ran for seconds past the time limit
// (docs/projectors.md). With `a < b` written in Lua the hook runs between comparisons; each
// comparison is still one C call, bounded by the strings' size. Upvalues: Lua's sort, the
// default comparator, and what wraps a C comparator in a Lua closure.
int metered_sort(lua_State* L) {
    lua_settop(L, 2);
    if (lua_isnoneornil(L, 2)) {
        lua_pushvalue(L, lua_upvalueindex(2));
        lua_replace(L, 2);
    } else if (lua_iscfunction(L, 2)) {
        // A C comparator (rawequal) runs no instruction either: called from a Lua closure
        // (upvalue 3 makes it), so that the hook runs between comparisons, which may each
        // walk a 2000-link __index chain (found from outside).
        lua_pushvalue(L, lua_upvalueindex(3));
        lua_pushvalue(L, 2);
        lua_call(L, 1, 1);
        lua_replace(L, 2);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, 2, 0);
    return 0;
}

void install_metered_sort(lua_State* L) {
    lua_getfield(L, -1, "sort");
    // Text, compiled here: "=sort" names it in messages ("sort:1: attempt to compare …").
    if (luaL_loadbufferx(L, "local a, b = ... return a < b", 29, "=sort", "t") != LUA_OK) {
        lua_pop(L, 2);  // keeps Lua's sort: cannot happen for this constant text
        return;
    }
    constexpr std::string_view in_lua = "local f = ... return function(a, b) return f(a, b) end";
    if (luaL_loadbufferx(L, in_lua.data(), in_lua.size(), "=sort", "t") != LUA_OK) {
        lua_pop(L, 3);  // as above
        return;
    }
    lua_pushcclosure(L, metered_sort, 3);
    lua_setfield(L, -2, "sort");
}

void replace_with_closure(lua_State* L, const char* name, lua_CFunction fn) {
    lua_getfield(L, -1, name);
    lua_pushcclosure(L, fn, 1);
    lua_setfield(L, -2, name);
}

}  // namespace

void install_metered_functions(lua_State* L) {
    lua_getglobal(L, LUA_STRLIBNAME);
    static const luaL_Reg string_functions[] = {{"find", metered_find},
                                                {"match", metered_match},
                                                {"gmatch", metered_gmatch},
                                                {"gsub", metered_gsub},
                                                {nullptr, nullptr}};
    luaL_setfuncs(L, string_functions, 0);
    replace_with_closure(L, "rep", metered_rep);
    lua_pop(L, 1);
    lua_getglobal(L, LUA_TABLIBNAME);
    replace_with_closure(L, "move", metered_move);
    replace_with_closure(L, "unpack", metered_unpack);
    replace_with_closure(L, "concat", metered_concat);
    lua_pushcfunction(L, metered_insert);
    lua_setfield(L, -2, "insert");
    lua_pushcfunction(L, metered_remove);
    lua_setfield(L, -2, "remove");
    install_metered_sort(L);
    lua_pop(L, 1);
    lua_getglobal(L, LUA_UTF8LIBNAME);
    for (const char* name : {"len", "codepoint", "offset"}) {
        replace_with_closure(L, name, metered_utf8_scan);
    }
    lua_pop(L, 1);
}

}  // namespace prom::userproj
