#include "userproj/lua_handler.hpp"

#include <algorithm>
#include <lua.hpp>

#include "core/reserved_headers.hpp"
#include "docs/reserved.hpp"
#include "docs/update.hpp"
#include "ops/alerts_topic.hpp"
#include "retention/erasure_marker.hpp"
#include "userproj/compiled_definition.hpp"
#include "userproj/effects.hpp"
#include "userproj/lua_json.hpp"

namespace prom::userproj {

// Everything a tx method needs. The Lua side holds only a pointer to it (in the tx
// userdata, one per Lua state, so a tx kept in a global reaches the current call), and it
// is cleared between calls, when no Lua code should run at all.
struct lua_handler::call {
    const compiled_definition* def;
    const user_handler_options* options;
    const event* e;
    transaction* txn;
    std::vector<event_input> emits;
    std::optional<error> store_error;  // the first store error, returned with its own code
    std::string message;               // the error a tx method raises
    json::value scratch;               // a document read by tx:get while it is pushed
};

namespace {

constexpr const char* tx_metatable = "prom.tx";
char tx_registry_key;  // the one tx userdata of a state, anchored in the registry

lua_handler::call* check_call(lua_State* L) {
    auto** slot = static_cast<lua_handler::call**>(luaL_checkudata(L, 1, tx_metatable));
    if (!*slot) luaL_error(L, "tx is used outside of handle()");
    return *slot;
}

std::string_view check_text(lua_State* L, int arg) {
    std::size_t len = 0;
    const char* s = luaL_checklstring(L, arg, &len);
    return {s, len};
}

// The C++ halves of the tx methods: no Lua error may be raised while their C++ objects
// live, so they report failures in c.message and the Lua halves raise afterwards.
bool do_get(lua_handler::call& c, std::string_view collection, std::string_view key) {
    try {
        // By its logical name only: a rebuild's shadow ("_prom.<token>.orders", pending or
        // swapped in) is read through the name it serves, never by its own.
        if (docs::reserved_collection(collection)) {
            c.message = "collection '" + std::string(collection) + "' is reserved for prom";
            return false;
        }
        auto d = c.txn->find_one(target_collection(*c.options, collection), key);
        if (!d) {
            c.store_error = d.error();
            c.message = d.error().message;
            return false;
        }
        if (!*d) {
            c.scratch = nullptr;
            return true;
        }
        auto v = parse_json((*d)->body, {.max_depth = 1024, .max_bytes = SIZE_MAX});
        if (!v) {
            c.message =
                "document " + std::string(collection) + "/" + std::string(key) + " does not parse";
            return false;
        }
        c.scratch = std::move(*v);
        return true;
    } catch (const std::exception& ex) {
        c.message = ex.what();
        return false;
    }
}

bool do_update(lua_State* L, lua_handler::call& c, std::string_view collection,
               std::string_view key) {
    try {
        const auto& allowed = c.def->lua_collections;
        if (std::find(allowed.begin(), allowed.end(), collection) == allowed.end()) {
            c.message = "collection '" + std::string(collection) +
                        "' is not in the definition's \"collections\"";
            return false;
        }
        json::value update;
        if (!to_json(L, 3, update, c.message)) return false;  // tx_update names the method
        if (!update.is_object()) {
            c.message = "tx:update needs a table of operators or a document";
            return false;
        }
        json::object& u = update.get_object();
        const bool replacement = docs::is_replacement(u);
        if (replacement) u.erase("_key");
        stamp_event_ts(u, replacement, c.e->ts);
        auto r = c.txn->update(target_collection(*c.options, collection), key, std::move(u), true);
        if (!r) {
            if (r.error().code != errc::invalid_argument && r.error().code != errc::type_error) {
                c.store_error = r.error();
            }
            c.message = r.error().message;
            return false;
        }
        return true;
    } catch (const std::exception& ex) {
        c.message = ex.what();
        return false;
    }
}

bool do_emit(lua_State* L, lua_handler::call& c, std::string_view topic, std::string_view key) {
    try {
        if (topic_matches(c.def->topic, topic)) {
            c.message =
                "tx:emit into '" + std::string(topic) + "' would feed the projector its own events";
            return false;
        }
        // Refused here, at the call, so the message carries the script's line (found from
        // outside: the commit refused it later, without `lua:N:`), as a declarative
        // definition's emit into it is refused when it is applied.
        if (topic == ops::alerts_topic) {
            c.message =
                "tx:emit: " + ops::alerts_topic_refusal() + ": a projector cannot emit into it";
            return false;
        }
        event_input in;
        in.topic = topic;
        in.key = key;
        in.ts = c.e->ts;
        in.id = emitted_id(*c.e, c.def->name, c.emits.size());
        if (!to_json(L, 4, in.payload, c.message)) {
            c.message = "tx:emit: " + c.message;
            return false;
        }
        if (lua_type(L, 5) == LUA_TTABLE) {
            json::value h;
            if (!to_json(L, 5, h, c.message) ||
                !(h.is_object() || (h.is_array() && h.get_array().empty()))) {
                c.message = "tx:emit: headers are a table of strings";
                return false;
            }
            if (h.is_object()) {
                for (const auto& m : h.get_object()) {
                    if (!m.value().is_string() || m.key().empty() ||
                        reserved_header_name(m.key())) {
                        c.message =
                            "tx:emit: headers are strings under non-empty names, and 'prom-' "
                            "names are reserved";
                        return false;
                    }
                    in.headers[m.key()] = m.value().get_string();
                }
            }
        }
        if (auto ok = add_source_headers(in.headers, *c.e, c.def->name); !ok) {
            c.message = "tx:" + ok.error().message;
            return false;
        }
        if (auto ok = check_emitted_payload(in.payload); !ok) {
            c.message = "tx:" + ok.error().message;
            return false;
        }
        if (auto ok = validate_input(in); !ok) {
            c.message = "tx:emit: " + ok.error().message;
            return false;
        }
        c.emits.push_back(std::move(in));
        return true;
    } catch (const std::exception& ex) {
        c.message = ex.what();
        return false;
    }
}

int tx_get(lua_State* L) {
    lua_handler::call* c = check_call(L);
    std::string_view collection = check_text(L, 2);
    std::string_view key = check_text(L, 3);
    if (!do_get(*c, collection, key)) return luaL_error(L, "tx:get: %s", c->message.c_str());
    if (c->scratch.is_null()) {
        lua_pushnil(L);
    } else {
        push_json(L, c->scratch);
    }
    return 1;
}

int tx_update(lua_State* L) {
    lua_handler::call* c = check_call(L);
    std::string_view collection = check_text(L, 2);
    std::string_view key = check_text(L, 3);
    luaL_checktype(L, 4, LUA_TTABLE);
    lua_settop(L, 4);
    lua_remove(L, 1);  // the update is now at index 3, as do_update reads it
    if (!do_update(L, *c, collection, key))
        return luaL_error(L, "tx:update: %s", c->message.c_str());
    return 0;
}

// tx:delete(collection, key) -> whether the document existed. Only the definition's
// collections, as tx:update; the deletion reaches watchers through the change log.
int tx_delete(lua_State* L) {
    lua_handler::call* c = check_call(L);
    std::string_view collection = check_text(L, 2);
    std::string_view key = check_text(L, 3);
    bool existed = false;
    try {
        const auto& allowed = c->def->lua_collections;
        if (std::find(allowed.begin(), allowed.end(), collection) == allowed.end()) {
            c->message = "collection '" + std::string(collection) +
                         "' is not in the definition's \"collections\"";
        } else if (auto r = c->txn->delete_one(target_collection(*c->options, collection), key);
                   !r) {
            if (r.error().code != errc::invalid_argument) c->store_error = r.error();
            c->message = r.error().message;
        } else {
            existed = *r;
            c->message.clear();
        }
    } catch (const std::exception& ex) {
        c->message = ex.what();
    }
    if (!c->message.empty()) return luaL_error(L, "tx:delete: %s", c->message.c_str());
    lua_pushboolean(L, existed ? 1 : 0);
    return 1;
}

int tx_emit(lua_State* L) {
    lua_handler::call* c = check_call(L);
    std::string_view topic = check_text(L, 2);
    std::size_t key_length = 0;  // with its length: a NUL inside is refused, not a cut
    const char* key_text = luaL_optlstring(L, 3, "", &key_length);
    std::string_view key(key_text, key_length);
    if (lua_isnoneornil(L, 4)) luaL_argerror(L, 4, "a payload is required");
    if (!lua_isnoneornil(L, 5)) luaL_checktype(L, 5, LUA_TTABLE);
    lua_settop(L, 5);
    if (!do_emit(L, *c, topic, key)) return luaL_error(L, "%s", c->message.c_str());
    return 0;
}

// Pushes the global `name` as the code defined it: a raw read, so that a metatable on _G (a
// "strict globals" guard that raises on unknown names) is not asked about a function the
// code may leave out (found from outside: `erased` failed every erasure marker).
int raw_global(lua_State* L, const char* name) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    lua_pushstring(L, name);
    const int type = lua_rawget(L, -2);
    lua_remove(L, -2);
    return type;
}

// Run in protected mode by lua_sandbox: handle(event, tx), or for an erasure marker
// erased(event, tx) when the code defines it (else nothing: docs/projectors.md).
int run_event(lua_State* L) {
    auto* c = static_cast<lua_handler::call*>(lua_touserdata(L, 1));
    const bool marker = retention::is_erasure_marker(*c->e);
    if (raw_global(L, marker ? "erased" : "handle") != LUA_TFUNCTION && marker) return 0;
    push_event(L, *c->e);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &tx_registry_key);
    lua_call(L, 2, 0);
    return 0;
}

// Makes the tx userdata and hands its slot back through the argument (a call***).
int install_tx(lua_State* L) {
    auto* out = static_cast<lua_handler::call***>(lua_touserdata(L, 1));
    luaL_newmetatable(L, tx_metatable);
    static const luaL_Reg methods[] = {{"get", tx_get},
                                       {"update", tx_update},
                                       {"delete", tx_delete},
                                       {"emit", tx_emit},
                                       {nullptr, nullptr}};
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "protected");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
    auto** slot =
        static_cast<lua_handler::call**>(lua_newuserdatauv(L, sizeof(lua_handler::call*), 0));
    *slot = nullptr;
    luaL_setmetatable(L, tx_metatable);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &tx_registry_key);
    *out = slot;
    return 0;
}

int check_handle_defined(lua_State* L) {
    if (raw_global(L, "handle") != LUA_TFUNCTION) {
        return luaL_error(L, "the code must define a global function handle(event, tx)");
    }
    return 0;
}

}  // namespace

std::optional<std::string> lua_definition_problem(std::string_view source) {
    user_handler_options defaults;
    auto sandbox = lua_sandbox::make(source, defaults.lua_memory_limit,
                                     defaults.lua_instruction_budget, defaults.lua_time_limit);
    if (!sandbox) return sandbox.error().message;
    if (auto ok = (*sandbox)->protected_call(check_handle_defined, nullptr); !ok)
        return ok.error().message;
    return std::nullopt;
}

std::optional<std::string> lua_syntax_problem(std::string_view source) {
    return lua_sandbox::syntax_problem(source, user_handler_options{}.lua_memory_limit);
}

lua_handler::lua_handler(std::shared_ptr<const projector_definition> definition,
                         user_handler_options options)
    : definition_(std::move(definition)), options_(std::move(options)) {}

status lua_handler::ensure_state() {
    if (sandbox_) return {};
    auto s = lua_sandbox::make(definition_->compiled->lua, options_.lua_memory_limit,
                               options_.lua_instruction_budget, options_.lua_time_limit);
    if (!s) return std::unexpected(s.error());
    if (auto ok = (*s)->protected_call(install_tx, &tx_slot_); !ok) return ok;
    if (auto ok = (*s)->protected_call(check_handle_defined, nullptr); !ok) return ok;
    sandbox_ = std::move(*s);
    return {};
}

status lua_handler::handle(const event& e, transaction& txn) {
    const compiled_definition& d = *definition_->compiled;
    // `where` looks at payloads; an erasure marker has none and goes to erased() if any.
    if (d.where && !retention::is_erasure_marker(e) && !matches(*d.where, e)) return {};
    std::lock_guard lock(mu_);
    if (auto ok = ensure_state(); !ok) return ok;
    call c{.def = &d,
           .options = &options_,
           .e = &e,
           .txn = &txn,
           .emits = {},
           .store_error = {},
           .message = {},
           .scratch = {}};
    *tx_slot_ = &c;
    auto ok = sandbox_->protected_call(run_event, &c);
    *tx_slot_ = nullptr;  // between calls no transaction is reachable
    if (!ok) {
        // A state that hit its memory cap or budget may hold half-built globals: start the
        // next event from a fresh one (handler globals are not durable anyway).
        if (sandbox_->hit_limit()) {
            sandbox_.reset();
            tx_slot_ = nullptr;
        }
        if (c.store_error) return std::unexpected(*c.store_error);
        return ok;
    }
    if (!c.emits.empty()) {
        if (auto r = txn.append(std::move(c.emits)); !r) return std::unexpected(r.error());
    }
    return {};
}

}  // namespace prom::userproj
