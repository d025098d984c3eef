// JSON <-> Lua values for handlers (docs/projectors.md, "JSON and Lua values").
//
// JSON -> Lua: object -> table; array -> table 1..n marked with the array metatable (so it
// goes back as an array, even when empty); string -> string; integer -> integer (an
// unsigned beyond 2^63-1 -> float); double -> float; true/false -> boolean; null -> nil as
// an object member (the member is absent), prom.null inside an array (keeps positions).
// Lua -> JSON: a table with the array metatable, or whose keys are exactly 1..n (n >= 1),
// -> array; any other table -> object, whose keys must be strings; an empty table -> {};
// integer -> integer; float -> double (NaN and infinities refused); prom.null -> null;
// strings must be UTF-8 without NUL; functions, userdata, threads and cycles are refused.
//
// The pushing functions can raise Lua errors (memory): call them with no live C++ objects
// that need destruction in the calling frame.
#pragma once

#include <string>

#include "prom/event.hpp"

struct lua_State;

namespace prom::userproj {

// Registers prom.null, prom.array(t) and the array metatable. Once per state.
void install_json_support(lua_State* L);

void push_json(lua_State* L, const json::value& v);
void push_event(lua_State* L, const event& e);

// The value at `index`; false with `error` set when it has no JSON form. Never raises.
bool to_json(lua_State* L, int index, json::value& out, std::string& error);

}  // namespace prom::userproj
