// The library functions whose work happens inside one C call without allocating in
// proportion to it, so that neither the instruction budget's count hook nor the allocator sees
// it, replaced in a sandbox's Lua state by metered ones (docs/projectors.md, "Limits";
// fuzz/README.md, finding 12):
//   - string.find, match, gmatch and gsub: Lua's matcher backtracks without bound
//     ('.-.-.-.-b' over a few thousand characters runs for hours); these use lua_pattern.hpp,
//     which charges one instruction per step, and a plain find (glibc's linear memmem) one per
//     64 bytes searched;
//   - string.rep of an empty string: one instruction per 64 repetitions (string.rep('', 2^40)
//     loops 2^40 times and allocates nothing; otherwise the result's allocation is charged);
//   - table.move: one instruction per element (table.move({}, 1, 2^40, 1) is such a loop),
//     table.insert and table.remove one per element shifted (a __len answering 2^50 makes
//     them shift nils for hours);
//   - every element a library function reads or writes through a chain of __index or
//     __newindex values (tables linked by metatables, which Lua follows up to 2000 links in
//     one C call): one instruction per link, in table.unpack, concat, move, insert, remove
//     and gsub with a table of replacements; table.sort calls a C comparator from Lua, so
//     the hook runs between its comparisons.
// Arguments, results and error messages are Lua 5.4's.
#pragma once

struct lua_State;

namespace prom::userproj {

// The string and table libraries must be open, as globals.
void install_metered_functions(lua_State* L);

}  // namespace prom::userproj
