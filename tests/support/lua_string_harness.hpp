// Lua's string library and the sandbox's metered one side by side (src/userproj/
// lua_metered_lib.*): a plain Lua state with every library and a sandbox, both running the
// same Lua harness, whose answers are compared as strings. Used by
// tests/unit/lua_metered_lib_test.cpp and fuzz/lua_pattern_fuzz.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <lua.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "userproj/lua_sandbox.hpp"

namespace prom::test::lua_strings {

// Defined in both states; each returns one string: pcall's status and every result, typed.
inline constexpr std::string_view harness = R"lua(
local function show(v) return (math.type(v) or type(v)) .. ':' .. tostring(v) end
local function results(ok, ...)
  local out = {tostring(ok)}
  for i = 1, select('#', ...) do out[#out + 1] = show((select(i, ...))) end
  return table.concat(out, ',')
end
function call(name, ...) return results(pcall(string[name], ...)) end
function gmatch_all(s, p, init)
  return results(pcall(function()
    local out = {}
    for a, b, c in string.gmatch(s, p, init) do
      out[#out + 1] = show(a) .. '|' .. show(b) .. '|' .. show(c)
      if #out > 200 then break end
    end
    return table.concat(out, ';')
  end))
end
local by_capture = {a = 'A', b = false, ab = 7, ['('] = {}}
local function replace(a, b)
  if a == 'c' then return nil end
  if b then return tostring(b) .. tostring(a) end
  return '<' .. tostring(a) .. '>'
end
function gsub_with(s, p, kind, r, n)
  local repl = r
  if kind == 'table' then repl = by_capture elseif kind == 'function' then repl = replace end
  return results(pcall(string.gsub, s, p, repl, n))
end
function shift(kind, a, b)
  local t = {1, 2, 3}
  local r
  if kind == 'append' then r = results(pcall(table.insert, t, a))
  elseif kind == 'insert' then r = results(pcall(table.insert, t, a, b))
  elseif kind == 'too_many' then r = results(pcall(table.insert, t, a, b, 'x'))
  elseif kind == 'remove' then r = results(pcall(table.remove, t, a))
  elseif kind == 'remove_last' then r = results(pcall(table.remove, t))
  elseif kind == 'not_a_table' then r = results(pcall(table.insert, a, 1))
  elseif kind == 'long' then
    local fake = setmetatable({}, {__len = function() return a end})
    r = results(pcall(b == 'remove' and table.remove or table.insert, fake, 1, 'x'))
  end
  local parts = {}
  for i = 1, 5 do parts[i] = tostring(t[i]) end
  return r .. '|' .. table.concat(parts, ',')
end
function move(n)
  return results(pcall(function() return #table.move({1, 2, 3}, 1, n, 2) end))
end
function sorted(kind)
  local t = {'b', 'c', 'a', 'b'}
  local ok, err
  if kind == 'default' then ok, err = pcall(table.sort, t)
  elseif kind == 'reverse' then ok, err = pcall(table.sort, t, function(x, y) return x > y end)
  else ok, err = pcall(table.sort, {1, 'x'}) end
  if not ok then return 'false,' .. tostring(err):gsub('^.-: ', '') end
  return table.concat(t, ',')
end
-- A table at the end of `depth` tables chained by __index (and __newindex), and what a
-- library function does with `n` of its elements: each missing one walks the whole chain.
function chained(kind, depth, n)
  local t = {1, 2, 3}
  for i = 1, depth do t = setmetatable({}, {__index = t, __newindex = t}) end
  return results(pcall(function()
    if kind == 'unpack' then return select('#', table.unpack(t, 1, n))
    elseif kind == 'concat' then return #table.concat(t, '', 4, n + 3)
    elseif kind == 'move' then return #table.move(t, 1, n, 1, {})
    elseif kind == 'gsub' then return (string.gsub(string.rep('x', n), 'x', t))
    elseif kind == 'sort' then
      local u = {}
      for i = 1, n do u[i] = i end
      local s = setmetatable({}, {__index = u})
      for i = 1, depth do s = setmetatable({}, {__index = s}) end
      setmetatable(s, {__index = getmetatable(s).__index, __len = function() return n end})
      table.sort(s, rawequal)
      return 'sorted'
    end
  end))
end
function sort_long(n)
  return results(pcall(function()
    local s = string.rep('a', 1000000)
    local t = {}
    for i = 1, n do t[i] = s end
    table.sort(t)
    return #t
  end))
end
)lua";

struct arg {
    enum { nil, text, integer } kind = nil;
    std::string s;
    lua_Integer i = 0;
};
inline arg str(std::string s) { return {arg::text, std::move(s), 0}; }
inline arg num(lua_Integer i) { return {arg::integer, {}, i}; }

struct call_request {
    const char* function;
    std::vector<arg> args;
    std::string out;
};

// A lua_CFunction: no destructor in its frame (a Lua error longjmps through it).
inline int run_call(lua_State* L) {
    auto* c = static_cast<call_request*>(lua_touserdata(L, 1));
    lua_getglobal(L, c->function);
    for (const auto& a : c->args) {
        if (a.kind == arg::text) {
            lua_pushlstring(L, a.s.data(), a.s.size());
        } else if (a.kind == arg::integer) {
            lua_pushinteger(L, a.i);
        } else {
            lua_pushnil(L);
        }
    }
    lua_call(L, static_cast<int>(c->args.size()), 1);
    std::size_t len = 0;
    const char* s = lua_tolstring(L, -1, &len);
    c->out.assign(s, len);
    return 0;
}

// A plain Lua state and sandboxes with the harness defined.
class pair {
  public:
    pair() : reference_(luaL_newstate()) {
        luaL_openlibs(reference_);
        if (luaL_loadbuffer(reference_, harness.data(), harness.size(), "=lua") != LUA_OK ||
            lua_pcall(reference_, 0, 0, 0) != LUA_OK) {
            lua_close(reference_);
            reference_ = nullptr;
        }
    }
    ~pair() {
        if (reference_) lua_close(reference_);
    }
    pair(const pair&) = delete;
    pair& operator=(const pair&) = delete;
    bool ok() const { return reference_ != nullptr; }

    static std::unique_ptr<userproj::lua_sandbox> make_sandbox(
        std::uint64_t budget, std::chrono::milliseconds time_limit) {
        auto s = userproj::lua_sandbox::make(harness, 64u << 20, budget, time_limit);
        return s ? std::move(*s) : nullptr;
    }

    std::string in_reference(const char* function, std::vector<arg> args) {
        call_request c{function, std::move(args), {}};
        lua_pushcfunction(reference_, run_call);
        lua_pushlightuserdata(reference_, &c);
        if (lua_pcall(reference_, 1, 0, 0) != LUA_OK) {
            c.out = std::string("harness failed: ") + lua_tostring(reference_, -1);
            lua_pop(reference_, 1);
        }
        return c.out;
    }
    static std::string in_sandbox(userproj::lua_sandbox& s, const char* function,
                                  std::vector<arg> args) {
        call_request c{function, std::move(args), {}};
        if (auto ok = s.protected_call(run_call, &c); !ok) return "failed: " + ok.error().message;
        return c.out;
    }
    static std::string describe(const char* function, const std::vector<arg>& args) {
        std::string d = function;
        for (const auto& a : args) {
            d += a.kind == arg::text      ? " '" + a.s + "'"
                 : a.kind == arg::integer ? " " + std::to_string(a.i)
                                          : " nil";
        }
        return d;
    }

  private:
    lua_State* reference_;
};

}  // namespace prom::test::lua_strings
