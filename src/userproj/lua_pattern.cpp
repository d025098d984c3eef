#include "userproj/lua_pattern.hpp"

#include <cctype>
#include <cstring>
#include <lua.hpp>

#include "userproj/lua_sandbox.hpp"

namespace prom::userproj::lua_pattern {

namespace {

constexpr char escape = '%';

unsigned char uchar(char c) { return static_cast<unsigned char>(c); }

// The pattern's character at p, or '\0' past its end (Lua's strings end with one).
char at(const match_state& ms, const char* p) { return p < ms.p_end ? *p : '\0'; }

void step(match_state& ms) {
    if (++ms.steps == charge_every) {
        ms.steps = 0;
        lua_sandbox::charge(ms.L, charge_every);
    }
}

const char* class_end(match_state& ms, const char* p) {
    switch (*p++) {
        case escape:
            if (p == ms.p_end) luaL_error(ms.L, "malformed pattern (ends with '%%')");
            return p + 1;
        case '[':
            if (at(ms, p) == '^') p++;
            do {  // the first character of a set may be ']'
                if (p == ms.p_end) luaL_error(ms.L, "malformed pattern (missing ']')");
                if (*(p++) == escape && p < ms.p_end) p++;  // skips escapes such as '%]'
            } while (at(ms, p) != ']');
            return p + 1;
        default:
            return p;
    }
}

bool match_class(int c, int cl) {
    bool res = false;
    switch (std::tolower(cl)) {
        case 'a':
            res = std::isalpha(c) != 0;
            break;
        case 'c':
            res = std::iscntrl(c) != 0;
            break;
        case 'd':
            res = std::isdigit(c) != 0;
            break;
        case 'g':
            res = std::isgraph(c) != 0;
            break;
        case 'l':
            res = std::islower(c) != 0;
            break;
        case 'p':
            res = std::ispunct(c) != 0;
            break;
        case 's':
            res = std::isspace(c) != 0;
            break;
        case 'u':
            res = std::isupper(c) != 0;
            break;
        case 'w':
            res = std::isalnum(c) != 0;
            break;
        case 'x':
            res = std::isxdigit(c) != 0;
            break;
        case 'z':
            res = (c == 0);
            break;  // deprecated in Lua, still there
        default:
            return cl == c;
    }
    return std::isupper(cl) ? !res : res;
}

// p at the set's '[', ec at its ']'.
bool match_bracket_class(const match_state& ms, int c, const char* p, const char* ec) {
    bool sig = true;
    if (at(ms, p + 1) == '^') {
        sig = false;
        p++;
    }
    while (++p < ec) {
        if (*p == escape) {
            p++;
            if (match_class(c, uchar(*p))) return sig;
        } else if (at(ms, p + 1) == '-' && p + 2 < ec) {
            p += 2;
            if (uchar(*(p - 2)) <= c && c <= uchar(*p)) return sig;
        } else if (uchar(*p) == c) {
            return sig;
        }
    }
    return !sig;
}

bool single_match(match_state& ms, const char* s, const char* p, const char* ep) {
    step(ms);
    if (s >= ms.src_end) return false;
    const int c = uchar(*s);
    switch (*p) {
        case '.':
            return true;
        case escape:
            return match_class(c, uchar(at(ms, p + 1)));
        case '[':
            return match_bracket_class(ms, c, p, ep - 1);
        default:
            return uchar(*p) == c;
    }
}

const char* match_balance(match_state& ms, const char* s, const char* p) {
    if (p >= ms.p_end - 1) luaL_error(ms.L, "malformed pattern (missing arguments to '%%b')");
    if (s >= ms.src_end || *s != *p) return nullptr;
    const char b = *p;
    const char e = *(p + 1);
    int cont = 1;
    while (++s < ms.src_end) {
        step(ms);
        if (*s == e) {
            if (--cont == 0) return s + 1;
        } else if (*s == b) {
            cont++;
        }
    }
    return nullptr;
}

const char* max_expand(match_state& ms, const char* s, const char* p, const char* ep) {
    std::ptrdiff_t i = 0;
    while (single_match(ms, s + i, p, ep)) i++;
    while (i >= 0) {  // tries the longest run first, then shorter ones
        if (const char* res = match(ms, s + i, ep + 1)) return res;
        i--;
    }
    return nullptr;
}

const char* min_expand(match_state& ms, const char* s, const char* p, const char* ep) {
    for (;;) {
        if (const char* res = match(ms, s, ep + 1)) return res;
        if (!single_match(ms, s, p, ep)) return nullptr;
        s++;
    }
}

const char* start_capture(match_state& ms, const char* s, const char* p, std::ptrdiff_t what) {
    const int level = ms.level;
    if (level >= max_captures) luaL_error(ms.L, "too many captures");
    ms.capture[level].init = s;
    ms.capture[level].len = what;
    ms.level = level + 1;
    const char* res = match(ms, s, p);
    if (!res) ms.level--;
    return res;
}

int capture_to_close(match_state& ms) {
    int level = ms.level;
    for (level--; level >= 0; level--) {
        if (ms.capture[level].len == capture_unfinished) return level;
    }
    return luaL_error(ms.L, "invalid pattern capture");
}

const char* end_capture(match_state& ms, const char* s, const char* p) {
    const int l = capture_to_close(ms);
    ms.capture[l].len = s - ms.capture[l].init;
    const char* res = match(ms, s, p);
    if (!res) ms.capture[l].len = capture_unfinished;
    return res;
}

int check_capture(match_state& ms, int l) {
    l -= '1';
    if (l < 0 || l >= ms.level || ms.capture[l].len == capture_unfinished) {
        return luaL_error(ms.L, "invalid capture index %%%d", l + 1);
    }
    return l;
}

const char* match_capture(match_state& ms, const char* s, int l) {
    l = check_capture(ms, l);
    const auto len = static_cast<std::size_t>(ms.capture[l].len);
    if (static_cast<std::size_t>(ms.src_end - s) >= len &&
        std::memcmp(ms.capture[l].init, s, len) == 0) {
        return s + len;
    }
    return nullptr;
}

}  // namespace

void prepare(match_state& ms, lua_State* L, const char* s, std::size_t ls, const char* p,
             std::size_t lp) {
    ms.L = L;
    ms.src_init = s;
    ms.src_end = s + ls;
    ms.p_end = p + lp;
    ms.steps = 0;
    reset(ms);
}

void reset(match_state& ms) {
    ms.level = 0;
    ms.match_depth = max_match_depth;
}

void settle(match_state& ms) {
    if (ms.steps == 0) return;
    const unsigned n = ms.steps;
    ms.steps = 0;
    lua_sandbox::charge(ms.L, n);
}

// Lua's matcher, step for step: recursion for what may backtrack, a loop (`goto init`) for
// what may not.
const char* match(match_state& ms, const char* s, const char* p) {
    step(ms);
    if (ms.match_depth-- == 0) luaL_error(ms.L, "pattern too complex");
init:
    if (p != ms.p_end) {
        switch (*p) {
            case '(':
                if (at(ms, p + 1) == ')') {
                    s = start_capture(ms, s, p + 2, capture_position);
                } else {
                    s = start_capture(ms, s, p + 1, capture_unfinished);
                }
                break;
            case ')':
                s = end_capture(ms, s, p + 1);
                break;
            case '$':
                if (p + 1 != ms.p_end) goto dflt;  // not at the end: an ordinary '$'
                s = (s == ms.src_end) ? s : nullptr;
                break;
            case escape:
                switch (at(ms, p + 1)) {
                    case 'b':
                        s = match_balance(ms, s, p + 2);
                        if (s) {
                            p += 4;
                            goto init;
                        }
                        break;
                    case 'f': {
                        p += 2;
                        if (at(ms, p) != '[') {
                            luaL_error(ms.L, "missing '[' after '%%f' in pattern");
                        }
                        const char* ep = class_end(ms, p);
                        const char previous = (s == ms.src_init) ? '\0' : *(s - 1);
                        const char current = (s < ms.src_end) ? *s : '\0';
                        if (!match_bracket_class(ms, uchar(previous), p, ep - 1) &&
                            match_bracket_class(ms, uchar(current), p, ep - 1)) {
                            p = ep;
                            goto init;
                        }
                        s = nullptr;
                        break;
                    }
                    case '0':
                    case '1':
                    case '2':
                    case '3':
                    case '4':
                    case '5':
                    case '6':
                    case '7':
                    case '8':
                    case '9':
                        s = match_capture(ms, s, uchar(*(p + 1)));
                        if (s) {
                            p += 2;
                            goto init;
                        }
                        break;
                    default:
                        goto dflt;
                }
                break;
            default:
            dflt : {
                const char* ep = class_end(ms, p);
                const char next = at(ms, ep);
                if (!single_match(ms, s, p, ep)) {
                    if (next == '*' || next == '?' || next == '-') {  // zero repetitions are fine
                        p = ep + 1;
                        goto init;
                    }
                    s = nullptr;
                } else {
                    switch (next) {
                        case '?':
                            if (const char* res = match(ms, s + 1, ep + 1)) {
                                s = res;
                            } else {
                                p = ep + 1;
                                goto init;
                            }
                            break;
                        case '+':
                            s = max_expand(ms, s + 1, p, ep);
                            break;
                        case '*':
                            s = max_expand(ms, s, p, ep);
                            break;
                        case '-':
                            s = min_expand(ms, s, p, ep);
                            break;
                        default:
                            s++;
                            p = ep;
                            goto init;
                    }
                }
                break;
            }
        }
    }
    ms.match_depth++;
    return s;
}

std::ptrdiff_t get_capture(match_state& ms, int i, const char* s, const char* e, const char** cap) {
    if (i >= ms.level) {
        if (i != 0) luaL_error(ms.L, "invalid capture index %%%d", i + 1);
        *cap = s;
        return e - s;
    }
    const std::ptrdiff_t len = ms.capture[i].len;
    *cap = ms.capture[i].init;
    if (len == capture_unfinished) luaL_error(ms.L, "unfinished capture");
    if (len == capture_position) {
        lua_pushinteger(ms.L, (ms.capture[i].init - ms.src_init) + 1);
    }
    return len;
}

void push_capture(match_state& ms, int i, const char* s, const char* e) {
    const char* cap = nullptr;
    const std::ptrdiff_t len = get_capture(ms, i, s, e, &cap);
    if (len != capture_position) lua_pushlstring(ms.L, cap, static_cast<std::size_t>(len));
}

int push_captures(match_state& ms, const char* s, const char* e) {
    const int levels = (ms.level == 0 && s) ? 1 : ms.level;
    luaL_checkstack(ms.L, levels, "too many captures");
    for (int i = 0; i < levels; i++) push_capture(ms, i, s, e);
    return levels;
}

}  // namespace prom::userproj::lua_pattern
