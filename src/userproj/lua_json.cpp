#include "userproj/lua_json.hpp"

#include <cmath>
#include <lua.hpp>

#include "core/text.hpp"

namespace prom::userproj {

namespace {

// Addresses used as unique registry keys and as the null sentinel.
char array_metatable_key;
char null_sentinel;

constexpr int max_depth = 64;

int make_array(lua_State* L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &array_metatable_key);
    lua_setmetatable(L, 1);
    return 1;
}

void push_string(lua_State* L, std::string_view s) { lua_pushlstring(L, s.data(), s.size()); }

bool has_array_metatable(lua_State* L, int index) {
    if (!lua_getmetatable(L, index)) return false;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &array_metatable_key);
    bool same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return same;
}

bool convert(lua_State* L, int index, json::value& out, std::string& error, int depth);

bool table_to_json(lua_State* L, int index, json::value& out, std::string& error, int depth) {
    if (depth > max_depth) {
        error = "a table nested deeper than 64 levels (or a cycle) has no JSON form";
        return false;
    }
    if (!lua_checkstack(L, 4)) {
        error = "Lua stack exhausted converting a table";
        return false;
    }
    index = lua_absindex(L, index);
    bool marked_array = has_array_metatable(L, index);
    // Count the entries and see whether the keys are exactly 1..n.
    lua_Integer n = 0;
    bool all_integer = true, any_string = false;
    lua_pushnil(L);
    while (lua_next(L, index) != 0) {
        lua_pop(L, 1);
        ++n;
        if (lua_type(L, -1) == LUA_TSTRING) {
            any_string = true;
            all_integer = false;
        } else if (!lua_isinteger(L, -1)) {
            all_integer = false;
        }
    }
    bool sequence = all_integer && n > 0 && static_cast<lua_Integer>(lua_rawlen(L, index)) == n;
    if (marked_array || sequence) {
        if (!all_integer || (n > 0 && static_cast<lua_Integer>(lua_rawlen(L, index)) != n)) {
            error = "an array table has keys other than 1..n";
            return false;
        }
        json::array a;
        a.reserve(static_cast<std::size_t>(n));
        for (lua_Integer i = 1; i <= n; ++i) {
            lua_rawgeti(L, index, i);
            json::value item;
            bool ok = convert(L, -1, item, error, depth + 1);
            lua_pop(L, 1);
            if (!ok) return false;
            a.push_back(std::move(item));
        }
        out = std::move(a);
        return true;
    }
    if (n > 0 && !any_string) {
        error = "a table with keys that are not strings (nor 1..n) has no JSON form";
        return false;
    }
    json::object o;
    lua_pushnil(L);
    while (lua_next(L, index) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            lua_pop(L, 2);
            error = "a table mixes string keys with other keys";
            return false;
        }
        std::size_t len = 0;
        const char* k = lua_tolstring(L, -2, &len);
        std::string_view key(k, len);
        if (!is_clean_text(key)) {
            lua_pop(L, 2);
            error = "a table key is not UTF-8 text without NUL";
            return false;
        }
        json::value item;
        if (!convert(L, -1, item, error, depth + 1)) {
            lua_pop(L, 2);
            return false;
        }
        o[key] = std::move(item);
        lua_pop(L, 1);
    }
    out = std::move(o);
    return true;
}

bool convert(lua_State* L, int index, json::value& out, std::string& error, int depth) {
    switch (lua_type(L, index)) {
        case LUA_TNIL:
            out = nullptr;
            return true;
        case LUA_TBOOLEAN:
            out = static_cast<bool>(lua_toboolean(L, index));
            return true;
        case LUA_TNUMBER:
            if (lua_isinteger(L, index)) {
                out = static_cast<std::int64_t>(lua_tointeger(L, index));
            } else {
                double d = lua_tonumber(L, index);
                if (!std::isfinite(d)) {
                    error = "NaN and infinities have no JSON form";
                    return false;
                }
                out = d;
            }
            return true;
        case LUA_TSTRING: {
            std::size_t len = 0;
            const char* s = lua_tolstring(L, index, &len);
            if (!is_clean_text({s, len})) {
                error = "a string is not UTF-8 text without NUL";
                return false;
            }
            out = json::string(std::string_view(s, len));
            return true;
        }
        case LUA_TLIGHTUSERDATA:
            if (lua_touserdata(L, index) == &null_sentinel) {
                out = nullptr;
                return true;
            }
            break;
        case LUA_TTABLE:
            return table_to_json(L, index, out, error, depth);
        default:
            break;
    }
    error = std::string("a ") + lua_typename(L, lua_type(L, index)) + " has no JSON form";
    return false;
}

}  // namespace

void install_json_support(lua_State* L) {
    lua_newtable(L);  // the array metatable
    lua_pushliteral(L, "array");
    lua_setfield(L, -2, "__name");
    // Protected: getmetatable(array) answers "array", never the table. Handlers that could
    // reach it could add a __gc, which every array prom makes later would then carry
    // (setmetatable's refusal of __gc does not see metatables set from C), and Lua runs
    // finalizers with hooks off, beyond any budget (docs/projectors.md, "The sandbox").
    lua_pushliteral(L, "array");
    lua_setfield(L, -2, "__metatable");
    lua_rawsetp(L, LUA_REGISTRYINDEX, &array_metatable_key);
    lua_newtable(L);  // prom
    lua_pushlightuserdata(L, &null_sentinel);
    lua_setfield(L, -2, "null");
    lua_pushcfunction(L, make_array);
    lua_setfield(L, -2, "array");
    lua_setglobal(L, "prom");
}

void push_json(lua_State* L, const json::value& v) {
    luaL_checkstack(L, 4, "JSON nested too deeply");
    switch (v.kind()) {
        case json::kind::null:
            lua_pushlightuserdata(L, &null_sentinel);
            return;
        case json::kind::bool_:
            lua_pushboolean(L, v.get_bool());
            return;
        case json::kind::int64:
            lua_pushinteger(L, v.get_int64());
            return;
        case json::kind::uint64:
            if (v.get_uint64() <= static_cast<std::uint64_t>(LUA_MAXINTEGER)) {
                lua_pushinteger(L, static_cast<lua_Integer>(v.get_uint64()));
            } else {
                lua_pushnumber(L, static_cast<lua_Number>(v.get_uint64()));
            }
            return;
        case json::kind::double_:
            lua_pushnumber(L, v.get_double());
            return;
        case json::kind::string:
            push_string(L, v.get_string());
            return;
        case json::kind::array: {
            const auto& a = v.get_array();
            lua_createtable(L, static_cast<int>(a.size()), 0);
            lua_Integer i = 0;
            for (const auto& item : a) {
                push_json(L, item);
                lua_rawseti(L, -2, ++i);
            }
            lua_rawgetp(L, LUA_REGISTRYINDEX, &array_metatable_key);
            lua_setmetatable(L, -2);
            return;
        }
        case json::kind::object: {
            const auto& o = v.get_object();
            lua_createtable(L, 0, static_cast<int>(o.size()));
            for (const auto& m : o) {
                if (m.value().is_null()) continue;  // nil: the member is absent
                push_string(L, m.key());
                push_json(L, m.value());
                lua_rawset(L, -3);
            }
            return;
        }
    }
}

void push_event(lua_State* L, const event& e) {
    lua_createtable(L, 0, 7);
    push_string(L, e.id);
    lua_setfield(L, -2, "id");
    push_string(L, e.topic);
    lua_setfield(L, -2, "topic");
    push_string(L, e.key);
    lua_setfield(L, -2, "key");
    lua_pushinteger(L, e.ts.value);
    lua_setfield(L, -2, "ts");
    lua_pushinteger(L, e.seq.value);
    lua_setfield(L, -2, "seq");
    if (!e.payload.is_null()) {
        push_json(L, e.payload);
        lua_setfield(L, -2, "payload");
    }
    lua_createtable(L, 0, static_cast<int>(e.headers.size()));
    for (const auto& [k, v] : e.headers) {
        push_string(L, k);
        push_string(L, v);
        lua_rawset(L, -3);
    }
    lua_setfield(L, -2, "headers");
}

bool to_json(lua_State* L, int index, json::value& out, std::string& error) {
    return convert(L, index, out, error, 0);
}

}  // namespace prom::userproj
