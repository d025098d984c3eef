// The engine's parsed form of a definition: everything a handler needs per event, with no
// JSON left to interpret (paths split, templates and filters compiled). Immutable; shared
// by every handler made from the definition.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "userproj/event_filter.hpp"
#include "userproj/value_template.hpp"

namespace prom::userproj {

struct update_field {
    std::string path;  // dotted, as the document operators take it
    value_template value;
};

struct update_operator {
    std::string name;  // $set, $inc, $setOnInsert, $unset
    std::vector<update_field> fields;
};

struct write_spec {
    std::string collection;
    key_template key;
    std::optional<event_filter> where;  // this write only for events that match
    bool replace = false;               // `replace`: the whole document, else `update`
    std::vector<update_operator> update;
    value_template replacement;
    bool names_ts = false;  // the definition sets _ts itself; otherwise _ts = the event's ts
};

struct emit_spec {
    std::string topic;
    key_template key;
    std::optional<event_filter> where;
    value_template payload;
    std::vector<std::pair<std::string, key_template>> headers;
};

}  // namespace prom::userproj

namespace prom {

struct compiled_definition {
    std::string name;
    std::string topic;  // the pattern, for the run-time loop check of Lua emits
    std::optional<userproj::event_filter> where;
    std::vector<userproj::write_spec> writes;
    std::vector<userproj::emit_spec> emits;
    std::string lua;                           // empty: a declarative definition
    std::vector<std::string> lua_collections;  // what the Lua handler may write
};

}  // namespace prom
