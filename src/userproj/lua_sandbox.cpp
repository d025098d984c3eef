#include "userproj/lua_sandbox.hpp"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <lua.hpp>

#include "core/text.hpp"
#include "userproj/lua_json.hpp"
#include "userproj/lua_metered_lib.hpp"

namespace prom::userproj {

namespace {

lua_sandbox* self_of(lua_State* L) { return *static_cast<lua_sandbox**>(lua_getextraspace(L)); }

// collectgarbage with only the options that do not change the collector.
int limited_collectgarbage(lua_State* L) {
    const char* opt = luaL_optstring(L, 1, "collect");
    if (std::strcmp(opt, "count") == 0) {
        lua_pushnumber(L, static_cast<lua_Number>(lua_gc(L, LUA_GCCOUNT)) +
                              static_cast<lua_Number>(lua_gc(L, LUA_GCCOUNTB)) / 1024.0);
        return 1;
    }
    if (std::strcmp(opt, "collect") == 0) {
        lua_gc(L, LUA_GCCOLLECT);
        lua_pushinteger(L, 0);
        return 1;
    }
    return luaL_error(L, "collectgarbage('%s') is not allowed in a projector", opt);
}

// setmetatable without finalizers: Lua runs __gc with debug hooks off, so the instruction
// budget could not stop a finalizer that loops. (A __gc added to a metatable later never
// marks the object for finalization, so checking here is enough.)
int setmetatable_without_gc(lua_State* L) {
    int t = lua_type(L, 2);
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
    if (t == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL) {
            return luaL_error(L, "metatables with __gc are not allowed in a projector");
        }
        lua_pop(L, 1);
    }
    if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL) {
        return luaL_error(L, "cannot change a protected metatable");
    }
    lua_settop(L, 2);
    lua_setmetatable(L, 1);
    return 1;
}

// Opens the allowed libraries and removes what could reach outside the sandbox.
int open_sandbox(lua_State* L) {
    static const luaL_Reg libs[] = {{LUA_GNAME, luaopen_base},
                                    {LUA_STRLIBNAME, luaopen_string},
                                    {LUA_TABLIBNAME, luaopen_table},
                                    {LUA_MATHLIBNAME, luaopen_math},
                                    {LUA_UTF8LIBNAME, luaopen_utf8}};
    for (const auto& lib : libs) {
        luaL_requiref(L, lib.name, lib.func, 1);
        lua_pop(L, 1);
    }
    for (const char* name : {"dofile", "loadfile", "load", "print", "require", "warn"}) {
        lua_pushnil(L);
        lua_setglobal(L, name);
    }
    lua_pushcfunction(L, limited_collectgarbage);
    lua_setglobal(L, "collectgarbage");
    lua_pushcfunction(L, setmetatable_without_gc);
    lua_setglobal(L, "setmetatable");
    lua_getglobal(L, LUA_STRLIBNAME);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
    // Every string shares one metatable: out of reach, as the array and tx metatables are, so
    // that no handler changes what `s:upper()` means for the code after it (found from
    // outside: getmetatable("") returned it, and changes to it were kept).
    lua_pushliteral(L, "");
    if (lua_getmetatable(L, -1)) {
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    install_metered_functions(L);
    // `prom.null` and `prom.array` before the source runs, so that its top level may use them.
    install_json_support(L);
    return 0;
}

struct chunk {
    std::string_view source;
};

int load_and_run(lua_State* L) {
    auto* c = static_cast<chunk*>(lua_touserdata(L, 1));
    // "=lua" names the chunk in messages: "lua:3: unexpected symbol near 'x'". Mode "t":
    // text only, never precompiled bytecode (which can break the VM's invariants).
    if (luaL_loadbufferx(L, c->source.data(), c->source.size(), "=lua", "t") != LUA_OK) {
        return lua_error(L);
    }
    lua_call(L, 0, 0);
    return 0;
}

int load_only(lua_State* L) {
    auto* c = static_cast<chunk*>(lua_touserdata(L, 1));
    if (luaL_loadbufferx(L, c->source.data(), c->source.size(), "=lua", "t") != LUA_OK) {
        return lua_error(L);
    }
    return 0;
}

// The message handler of every protected call: an error object that is not text but has a
// `__tostring` (error(setmetatable({}, {__tostring = …}))) becomes that text, as the `lua`
// interpreter shows it. It runs before the stack unwinds, still under the instruction budget
// and the time limit, so a __tostring that loops is stopped like any handler code.
int describe_error(lua_State* L) {
    if (lua_type(L, 1) != LUA_TSTRING && lua_type(L, 1) != LUA_TNUMBER &&
        luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) {
        return 1;
    }
    lua_settop(L, 1);
    return 1;
}

}  // namespace

lua_sandbox::lua_sandbox(std::size_t memory_limit, std::uint64_t budget,
                         std::chrono::milliseconds time_limit)
    : limit_(memory_limit), budget_(budget), time_limit_(time_limit) {}

lua_sandbox::~lua_sandbox() {
    if (!L_) return;
    lua_close(L_);
}

// After the budget is spent, the hook fires on every instruction: code that catches the
// budget error with pcall gets no further than its next instruction outside that pcall.
// (Finalizers, which Lua runs with hooks off, cannot be defined: setmetatable_without_gc.)
void lua_sandbox::enter_strict_mode() {
    budget_exceeded_ = true;
    lua_sethook(L_, &lua_sandbox::budget_hook, LUA_MASKCOUNT, 1);
}

void* lua_sandbox::allocate(void* self, void* ptr, std::size_t old_size, std::size_t new_size) {
    auto* s = static_cast<lua_sandbox*>(self);
    std::size_t old = ptr ? old_size : 0;  // without ptr, old_size is a type tag
    if (new_size == 0) {
        std::free(ptr);
        s->used_ -= old;
        return nullptr;
    }
    if (new_size > old && s->used_ + (new_size - old) > s->limit_) {
        s->refused_allocation_ = true;
        return nullptr;  // Lua raises "not enough memory"
    }
    if (new_size > old && s->metering_) {
        // Copying costs instructions too (string.rep of a short string is a loop in C).
        s->allocated_ += new_size - old;
        if (s->budget_exceeded_ || s->spent() >= s->budget_) {
            // Lua raises "not enough memory"; protected_call reports the budget. Only growth
            // is ever refused, which Lua handles everywhere (shrinking must not fail).
            if (!s->budget_exceeded_) s->enter_strict_mode();
            return nullptr;
        }
    }
    void* p = std::realloc(ptr, new_size);
    if (!p) return nullptr;
    s->used_ = s->used_ - old + new_size;
    return p;
}

void lua_sandbox::budget_hook(lua_State* L, lua_Debug*) {
    spend(L, std::clamp<std::uint64_t>(self_of(L)->budget_, 1, hook_period));
}

void lua_sandbox::charge(lua_State* L, std::uint64_t instructions) {
    if (self_of(L)->metering_) spend(L, instructions);
}

void lua_sandbox::spend(lua_State* L, std::uint64_t instructions) {
    lua_sandbox* s = self_of(L);
    if (!s->budget_exceeded_) {
        // At most the budget at a time, so that the sum cannot wrap around.
        s->executed_ += std::min(instructions, s->budget_);
        const bool over_budget = s->spent() >= s->budget_;
        if (!over_budget && std::chrono::steady_clock::now() < s->deadline_) return;
        s->out_of_time_ = !over_budget;
        s->enter_strict_mode();
    }
    if (s->out_of_time_) {
        luaL_error(L, "the time limit (%I ms per event) is exhausted",
                   static_cast<lua_Integer>(s->time_limit_.count()));
    }
    luaL_error(L, "the instruction budget (%I per event) is exhausted",
               static_cast<lua_Integer>(s->budget_));
}

result<std::unique_ptr<lua_sandbox>> lua_sandbox::make(std::string_view source,
                                                       std::size_t memory_limit,
                                                       std::uint64_t instruction_budget,
                                                       std::chrono::milliseconds time_limit) {
    std::unique_ptr<lua_sandbox> s(new lua_sandbox(memory_limit, instruction_budget, time_limit));
    s->L_ = lua_newstate(&lua_sandbox::allocate, s.get());
    if (!s->L_)
        return fail(errc::invalid_argument, "Lua: the memory cap is too small to start a state");
    *static_cast<lua_sandbox**>(lua_getextraspace(s->L_)) = s.get();
    if (auto ok = s->protected_call(open_sandbox, nullptr); !ok) return std::unexpected(ok.error());
    chunk c{source};
    if (auto ok = s->protected_call(load_and_run, &c); !ok) return std::unexpected(ok.error());
    return s;
}

std::optional<std::string> lua_sandbox::syntax_problem(std::string_view source,
                                                       std::size_t memory_limit) {
    // Compiling runs nothing of the chunk: the budget and the time limit are only there
    // because protected_call applies them.
    auto s = make("", memory_limit, std::uint64_t{1} << 40, std::chrono::seconds(10));
    if (!s) return s.error().message;
    chunk c{source};
    if (auto ok = (*s)->protected_call(load_only, &c); !ok) return ok.error().message;
    return std::nullopt;
}

status lua_sandbox::protected_call(int (*fn)(lua_State*), void* arg) {
    refused_allocation_ = budget_exceeded_ = out_of_time_ = hit_limit_ = false;
    lua_settop(L_, 0);
    lua_pushcfunction(L_, describe_error);  // index 1: the message handler
    lua_pushcfunction(L_, fn);
    lua_pushlightuserdata(L_, arg);
    executed_ = allocated_ = 0;
    deadline_ = std::chrono::steady_clock::now() + time_limit_;
    metering_ = true;
    lua_sethook(L_, &lua_sandbox::budget_hook, LUA_MASKCOUNT,
                static_cast<int>(std::clamp<std::uint64_t>(budget_, 1, hook_period)));
    int rc = lua_pcall(L_, 1, 0, 1);
    metering_ = false;
    bool exceeded = budget_exceeded_;
    enter_strict_mode();
    if (rc == LUA_OK) return {};
    std::string message;
    if (exceeded && out_of_time_) {
        message = "Lua: the time limit (" + std::to_string(time_limit_.count()) +
                  " ms per event) is exhausted";
    } else if (exceeded) {
        message =
            "Lua: the instruction budget (" + std::to_string(budget_) + " per event) is exhausted";
    } else if (rc == LUA_ERRMEM || refused_allocation_) {
        std::string cap = limit_ % (1u << 20) == 0 ? std::to_string(limit_ >> 20) + " MiB"
                                                   : std::to_string(limit_) + " bytes";
        message = "Lua: the memory cap (" + cap + ") is exhausted";
    } else if (std::size_t n = 0; const char* m = lua_tolstring(L_, -1, &n)) {
        // Whatever bytes the handler raised (a string cut mid-character, a NUL, megabytes):
        // the message goes into a dead-letter header and the registry, which take text.
        message = "Lua: " + printable_message(std::string_view(m, n));
    } else {
        // As the lua interpreter words it (found from outside: error({code = 42}), error(true)
        // and error() all read "an error without a message").
        message = std::string("Lua: (error object is a ") + luaL_typename(L_, -1) + " value)";
    }
    hit_limit_ = refused_allocation_ || exceeded || rc == LUA_ERRMEM;
    lua_settop(L_, 0);
    lua_gc(L_, LUA_GCCOLLECT);
    return fail(errc::invalid_argument, std::move(message));
}

}  // namespace prom::userproj
