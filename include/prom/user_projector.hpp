// User-defined projectors: a JSON definition (declarative writes and emits, or a Lua
// handler) turned into a projector_handler for the transactional projector. The format,
// references, filters, the Lua API and its sandbox are documented in docs/projectors.md.
//
// This header is the seam between the definition engine (src/userproj: parsing,
// validation, references, filters, Lua) and whatever runs definitions (the registry and
// supervisor of `prom serve`, tests, benchmarks).
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "prom/bus.hpp"
#include "prom/projector.hpp"

namespace prom {

// Why a definition was refused: a message for people and a JSON Pointer (RFC 6901) to the
// offending field of the definition ("" for the whole body), e.g.
// "/writes/0/update/$inc/revisions".
struct definition_error {
    std::string message;
    std::string pointer;
};

struct compiled_definition;  // the engine's parsed form (filters, templates, Lua source)

// A parsed and validated definition. Immutable once made; shared by every runner of it.
struct projector_definition {
    std::string name;          // [A-Za-z0-9_.-]{1,100}
    std::int64_t version = 1;  // >= 1
    std::string topic;         // one topic, or a prefix pattern ending in '*'
    start_from from = start_from::earliest;
    bool rebuild = false;                  // a replacement projects from earliest into shadows
    std::vector<std::string> collections;  // every collection the definition may write
    std::vector<std::string> emit_topics;  // every topic it may emit into (declarative)
    json::object source;                   // the definition as given, for GET and storage
    std::shared_ptr<const compiled_definition> compiled;
};

// Parses and validates a definition body. Unknown fields, wrong types, bad patterns, a
// reference into nothing, a Lua syntax error (with its line), refused collection or topic
// names and an emit into a topic matched by the projector's own pattern are all refused.
std::expected<projector_definition, definition_error> parse_projector_definition(
    const json::value& body);

// True when two valid definitions' sources say the same thing: equal once the top-level
// fields given at their defaults ("version": 1, "from": "earliest", "rebuild": false,
// "description": "", an empty "writes"/"emit"/"collections" where the definition's kind takes
// it) are left out. A node restarting
// with the serving definition written out in full must find it unchanged, not replace it.
bool same_definition(const json::object& a, const json::object& b);

// True when `topic` is matched by a definition's topic (exact, or prefix before '*').
bool topic_matches(std::string_view pattern, std::string_view topic);

struct user_handler_options {
    // Maps a collection named in the definition to the one actually written (shadow
    // collections during a rebuild). Identity when empty.
    std::function<std::string(std::string_view)> collection_for;
    // Per event; allocating 64 bytes costs one instruction too (docs/projectors.md).
    std::uint64_t lua_instruction_budget = 1'000'000;
    std::size_t lua_memory_limit = 64u << 20;  // per handler (one Lua state)
    // Per event: the backstop for work that neither executes instructions nor allocates.
    std::chrono::milliseconds lua_time_limit{1000};
};

// A handler applying one event's effects (all writes and emits) inside the projector's
// transaction. Each call makes an independent handler (its own Lua state): one per runner
// thread. Events that do not match `where` return ok without effects (the cursor moves).
// Emitted event ids are derived from the input event's topic and seq, so a redelivery never
// emits twice.
projector_handler make_user_handler(std::shared_ptr<const projector_definition> definition,
                                    user_handler_options options = {});

}  // namespace prom
