// parse_projector_definition and topic_matches (include/prom/user_projector.hpp).
#include <algorithm>
#include <cstdint>
#include <initializer_list>

#include "core/json_fields.hpp"
#include "core/json_int.hpp"
#include "core/reserved_headers.hpp"
#include "docs/update.hpp"
#include "docs/update_path.hpp"
#include "ops/alerts_topic.hpp"
#include "prom/user_projector.hpp"
#include "userproj/compiled_definition.hpp"
#include "userproj/json_pointer.hpp"
#include "userproj/lua_handler.hpp"

namespace prom {

namespace {

using userproj::pointer_join;
using refusal = std::unexpected<definition_error>;

refusal refuse(std::string message, std::string pointer) {
    return std::unexpected(definition_error{std::move(message), std::move(pointer)});
}

// Unknown fields are refused so that a typo ("wirtes") is never silently ignored.
std::expected<void, definition_error> only_fields(const json::object& o, const std::string& at,
                                                  std::initializer_list<std::string_view> known) {
    if (auto name = first_unknown_field(o, known)) {
        return refuse(unknown_field_message(*name, known), pointer_join(at, *name));
    }
    return {};
}

const json::value* member(const json::object& o, std::string_view name) {
    auto it = o.find(name);
    return it == o.end() ? nullptr : &it->value();
}

std::expected<std::string, definition_error> string_field(const json::object& o,
                                                          std::string_view name,
                                                          const std::string& at, bool required) {
    const json::value* v = member(o, name);
    std::string ptr = pointer_join(at, name);
    if (!v) {
        if (required) return refuse("'" + std::string(name) + "' is required", ptr);
        return std::string();
    }
    if (!v->is_string()) return refuse("'" + std::string(name) + "' must be a string", ptr);
    return std::string(v->get_string());
}

bool valid_name(std::string_view n) {
    if (n.empty() || n.size() > 100) return false;
    // A URL path normalizes these away: /projectors/.. is /, which no client could name.
    if (n == "." || n == "..") return false;
    return std::all_of(n.begin(), n.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '.' || c == '-';
    });
}

// The topic rules of the event log (validate_input), so a definition names only topics
// prom accepts elsewhere.
std::optional<std::string> topic_problem(std::string_view topic) {
    event_input probe;
    probe.topic = topic;
    if (auto ok = validate_input(probe); !ok) return ok.error().message;
    return std::nullopt;
}

std::expected<void, definition_error> check_pattern(std::string_view pattern,
                                                    const std::string& at) {
    std::string_view prefix = pattern;
    if (pattern.ends_with('*')) prefix.remove_suffix(1);
    if (prefix.find('*') != std::string_view::npos) {
        return refuse("'*' may only end a topic pattern, as in \"order.*\"", at);
    }
    if (pattern.empty()) return refuse("the topic must not be empty", at);
    if (prefix.empty()) return refuse("a topic pattern needs a prefix before '*'", at);
    if (auto p = topic_problem(prefix)) return refuse(*p, at);
    return {};
}

std::expected<std::optional<userproj::event_filter>, definition_error> optional_filter(
    const json::object& o, const std::string& at) {
    const json::value* w = member(o, "where");
    if (!w) return std::nullopt;
    auto f = userproj::compile_filter(*w, pointer_join(at, "where"));
    if (!f) return std::unexpected(f.error());
    return std::optional<userproj::event_filter>(std::move(*f));
}

// A literal `_ts` (not a reference to the event) that can never be one: every event would be
// dead-lettered with a type_error (found from outside: "$set": {"_ts": "abc"} was accepted,
// and the definition failed at its fifth event). A reference is checked at run time.
std::expected<void, definition_error> check_literal_ts(const json::value& v,
                                                       const std::string& at) {
    if (const auto* s = v.if_string(); s && s->starts_with('$') && !s->starts_with("$$")) {
        return {};
    }
    if (v.is_int64() || (v.is_uint64() && v.get_uint64() <= INT64_MAX)) return {};
    return refuse(
        "_ts is an integer of epoch milliseconds in the signed 64-bit range, or a "
        "reference to one (\"$ts\")",
        at);
}

std::expected<userproj::write_spec, definition_error> parse_update(userproj::write_spec w,
                                                                   const json::value& u,
                                                                   const std::string& at) {
    const json::object* ops = u.if_object();
    if (!ops || ops->empty()) {
        return refuse(
            "'update' is an object of operators ($set, $inc, $setOnInsert, $unset); "
            "use 'replace' for a whole document",
            at);
    }
    std::vector<std::string> touched;
    for (const auto& op : *ops) {
        std::string op_at = pointer_join(at, op.key());
        std::string_view name = op.key();
        if (name != "$set" && name != "$inc" && name != "$setOnInsert" && name != "$unset") {
            return refuse("unknown update operator '" + std::string(name) +
                              "' (known: $set, $inc, $setOnInsert, $unset)",
                          op_at);
        }
        const json::object* fields = op.value().if_object();
        if (!fields || fields->empty())
            return refuse(std::string(name) + " needs an object of fields", op_at);
        userproj::update_operator compiled{.name = std::string(name), .fields = {}};
        for (const auto& f : *fields) {
            std::string f_at = pointer_join(op_at, f.key());
            std::string_view path = f.key();
            if (!docs::valid_update_path(path))
                return refuse("bad field path '" + std::string(path) + "'", f_at);
            if (path == "_key" || path.starts_with("_key."))
                return refuse("_key is the write's key and cannot be set", f_at);
            // Two operators on one field, or a field and its parent, cannot both apply.
            for (const auto& t : touched) {
                if (t == path || path.starts_with(t + ".") ||
                    std::string_view(t).starts_with(std::string(path) + ".")) {
                    return refuse(
                        "field '" + std::string(path) + "' is also updated as '" + t + "'", f_at);
                }
            }
            touched.emplace_back(path);
            // `$unset` of _ts sets nothing: the event's ts is stamped all the same (effects.cpp).
            if ((path == "_ts" || path.starts_with("_ts.")) && name != "$unset") w.names_ts = true;
            if (path.starts_with("_ts.") && name != "$unset") {
                return refuse("_ts is an integer: it has no fields", f_at);
            }
            if (path == "_ts" && name != "$unset") {
                if (auto ok = check_literal_ts(f.value(), f_at); !ok) {
                    return std::unexpected(ok.error());
                }
            }
            if (name == "$inc") {
                const json::value& by = f.value();
                bool reference = by.is_string() && by.get_string().starts_with('$') &&
                                 !by.get_string().starts_with("$$");
                if (!by.is_number() && !reference)
                    return refuse("$inc needs a number or a reference", f_at);
            }
            auto value = userproj::compile_value(f.value(), f_at);
            if (!value) return std::unexpected(value.error());
            compiled.fields.push_back({std::string(path), std::move(*value)});
        }
        w.update.push_back(std::move(compiled));
    }
    return w;
}

std::expected<userproj::write_spec, definition_error> parse_write(const json::value& v,
                                                                  const std::string& at) {
    const json::object* o = v.if_object();
    if (!o) return refuse("a write is an object {collection, key, update|replace}", at);
    if (auto ok = only_fields(*o, at, {"collection", "key", "update", "replace", "where"}); !ok) {
        return std::unexpected(ok.error());
    }
    userproj::write_spec w;
    auto coll = string_field(*o, "collection", at, true);
    if (!coll) return std::unexpected(coll.error());
    if (!docs::valid_collection_name(*coll)) {
        return refuse("bad collection name '" + *coll + "': [A-Za-z0-9_.-], 1-128 bytes",
                      pointer_join(at, "collection"));
    }
    w.collection = *coll;
    auto key = string_field(*o, "key", at, true);
    if (!key) return std::unexpected(key.error());
    auto kt = userproj::compile_key(*key, pointer_join(at, "key"));
    if (!kt) return std::unexpected(kt.error());
    if (kt->parts.empty()) return refuse("a write needs a non-empty key", pointer_join(at, "key"));
    w.key = std::move(*kt);
    auto where = optional_filter(*o, at);
    if (!where) return std::unexpected(where.error());
    w.where = std::move(*where);
    const json::value* update = member(*o, "update");
    const json::value* replace = member(*o, "replace");
    if ((update != nullptr) == (replace != nullptr)) {
        return refuse("a write has exactly one of 'update' and 'replace'", at);
    }
    if (update) return parse_update(std::move(w), *update, pointer_join(at, "update"));
    std::string r_at = pointer_join(at, "replace");
    bool reference = replace->is_string() && replace->get_string().starts_with('$') &&
                     !replace->get_string().starts_with("$$");
    if (!replace->is_object() && !reference) {
        return refuse("'replace' is an object or a reference to one (\"$payload\")", r_at);
    }
    if (const json::object* r = replace->if_object()) {
        for (const auto& m : *r) {
            if (m.key().starts_with('$')) {
                return refuse("a replacement document has no operators; use 'update'",
                              pointer_join(r_at, m.key()));
            }
        }
        w.names_ts = r->contains("_ts");
        if (const json::value* ts = r->if_contains("_ts")) {
            if (auto ok = check_literal_ts(*ts, pointer_join(r_at, "_ts")); !ok) {
                return std::unexpected(ok.error());
            }
        }
    }
    auto value = userproj::compile_value(*replace, r_at);
    if (!value) return std::unexpected(value.error());
    w.replace = true;
    w.replacement = std::move(*value);
    return w;
}

std::expected<userproj::emit_spec, definition_error> parse_emit(const json::value& v,
                                                                const std::string& at,
                                                                std::string_view own_pattern) {
    const json::object* o = v.if_object();
    if (!o) return refuse("an emit is an object {topic, key, payload, headers}", at);
    if (auto ok = only_fields(*o, at, {"topic", "key", "payload", "headers", "where"}); !ok) {
        return std::unexpected(ok.error());
    }
    userproj::emit_spec e;
    auto topic = string_field(*o, "topic", at, true);
    if (!topic) return std::unexpected(topic.error());
    std::string t_at = pointer_join(at, "topic");
    if (auto p = topic_problem(*topic)) return refuse(*p, t_at);
    // Every emit there would be refused (a publish there is too): a definition that can only
    // dead-letter its events is refused when applied instead.
    if (*topic == ops::alerts_topic) {
        return refuse(ops::alerts_topic_refusal() + ": a projector cannot emit into it", t_at);
    }
    if (topic_matches(own_pattern, *topic)) {
        return refuse("emitting into '" + *topic + "' would feed the projector its own events ('" +
                          std::string(own_pattern) + "' matches it)",
                      t_at);
    }
    e.topic = *topic;
    auto key = string_field(*o, "key", at, false);
    if (!key) return std::unexpected(key.error());
    auto kt = userproj::compile_key(member(*o, "key") ? *key : "{key}", pointer_join(at, "key"));
    if (!kt) return std::unexpected(kt.error());
    e.key = std::move(*kt);
    const json::value* payload = member(*o, "payload");
    if (!payload) return refuse("'payload' is required", pointer_join(at, "payload"));
    auto pt = userproj::compile_value(*payload, pointer_join(at, "payload"));
    if (!pt) return std::unexpected(pt.error());
    e.payload = std::move(*pt);
    if (const json::value* h = member(*o, "headers")) {
        std::string h_at = pointer_join(at, "headers");
        const json::object* ho = h->if_object();
        if (!ho) return refuse("'headers' is an object of name: template", h_at);
        for (const auto& m : *ho) {
            std::string m_at = pointer_join(h_at, m.key());
            if (m.key().empty() || reserved_header_name(m.key())) {
                return refuse("header names are non-empty and 'prom-' is reserved", m_at);
            }
            if (!m.value().is_string()) return refuse("a header value is a string template", m_at);
            auto ht = userproj::compile_key(m.value().get_string(), m_at);
            if (!ht) return std::unexpected(ht.error());
            e.headers.emplace_back(std::string(m.key()), std::move(*ht));
        }
    }
    auto where = optional_filter(*o, at);
    if (!where) return std::unexpected(where.error());
    e.where = std::move(*where);
    return e;
}

template <class Spec, class Parse>
std::expected<std::vector<Spec>, definition_error> parse_list(const json::value* v,
                                                              const std::string& at, Parse parse) {
    std::vector<Spec> out;
    if (!v) return out;
    const json::array* a = v->if_array();
    if (!a) return refuse("must be an array", at);
    for (std::size_t i = 0; i < a->size(); ++i) {
        auto s = parse((*a)[i], pointer_join(at, i));
        if (!s) return std::unexpected(s.error());
        out.push_back(std::move(*s));
    }
    return out;
}

}  // namespace

bool topic_matches(std::string_view pattern, std::string_view topic) {
    if (!pattern.ends_with('*')) return pattern == topic;
    pattern.remove_suffix(1);
    // A pattern never takes in dead-letter topics: their events already failed once.
    return topic.starts_with(pattern) && !topic.ends_with(".dlq");
}

namespace {

// A definition without its top-level fields that only repeat a default.
json::object without_defaults(const json::object& source) {
    json::object o = source;
    auto drop_if = [&](std::string_view name, auto&& is_default) {
        if (auto it = o.find(name); it != o.end() && is_default(it->value())) o.erase(it);
    };
    drop_if("version", [](const json::value& v) { return int64_of(v) == std::int64_t{1}; });
    drop_if("from", [](const json::value& v) { return v == json::value("earliest"); });
    drop_if("rebuild", [](const json::value& v) { return v == json::value(false); });
    drop_if("description", [](const json::value& v) { return v == json::value(""); });
    for (std::string_view list : {"writes", "emit", "collections"}) {
        drop_if(list, [](const json::value& v) { return v.is_array() && v.get_array().empty(); });
    }
    return o;
}

}  // namespace

bool same_definition(const json::object& a, const json::object& b) {
    return a == b || without_defaults(a) == without_defaults(b);
}

std::expected<projector_definition, definition_error> parse_projector_definition(
    const json::value& body) {
    const json::object* o = body.if_object();
    if (!o) return refuse("a projector definition is a JSON object", "");
    if (auto ok = only_fields(*o, "",
                              {"name", "version", "description", "topic", "from", "where", "writes",
                               "emit", "lua", "collections", "rebuild"});
        !ok) {
        return std::unexpected(ok.error());
    }
    projector_definition d;
    auto c = std::make_shared<compiled_definition>();
    d.source = *o;

    auto name = string_field(*o, "name", "", true);
    if (!name) return std::unexpected(name.error());
    if (!valid_name(*name))
        return refuse("a projector name is [A-Za-z0-9_.-], 1-100 characters, not '.' or '..'",
                      "/name");
    d.name = c->name = *name;

    if (const json::value* v = member(*o, "version")) {
        if (auto n = int64_of(*v); n && *n >= 1) {
            d.version = *n;
        } else {
            return refuse("'version' is an integer >= 1", "/version");
        }
    }
    if (auto desc = string_field(*o, "description", "", false); !desc)
        return std::unexpected(desc.error());

    auto topic = string_field(*o, "topic", "", true);
    if (!topic) return std::unexpected(topic.error());
    if (auto ok = check_pattern(*topic, "/topic"); !ok) return std::unexpected(ok.error());
    d.topic = c->topic = *topic;

    auto from = string_field(*o, "from", "", false);
    if (!from) return std::unexpected(from.error());
    if (*from == "latest") {
        d.from = start_from::latest;
    } else if (from->empty() && !member(*o, "from")) {
        d.from = start_from::earliest;
    } else if (*from != "earliest") {
        return refuse("'from' is \"earliest\" or \"latest\"", "/from");
    }
    if (const json::value* v = member(*o, "rebuild")) {
        if (!v->is_bool()) return refuse("'rebuild' is true or false", "/rebuild");
        d.rebuild = v->get_bool();
    }

    auto where = optional_filter(*o, "");
    if (!where) return std::unexpected(where.error());
    c->where = std::move(*where);

    auto writes = parse_list<userproj::write_spec>(member(*o, "writes"), "/writes", parse_write);
    if (!writes) return std::unexpected(writes.error());
    c->writes = std::move(*writes);
    auto emits = parse_list<userproj::emit_spec>(
        member(*o, "emit"), "/emit",
        [&](const json::value& v, const std::string& at) { return parse_emit(v, at, d.topic); });
    if (!emits) return std::unexpected(emits.error());
    c->emits = std::move(*emits);

    auto lua = string_field(*o, "lua", "", false);
    if (!lua) return std::unexpected(lua.error());
    bool declarative = !c->writes.empty() || !c->emits.empty();
    if (member(*o, "lua")) {
        // Even an empty `writes: []` says which kind the author meant: refused with lua too.
        if (declarative || member(*o, "writes") || member(*o, "emit"))
            return refuse("a definition has either writes/emit or lua, not both", "/lua");
        if (lua->empty()) return refuse("'lua' is empty", "/lua");
        if (auto problem = userproj::lua_definition_problem(*lua)) return refuse(*problem, "/lua");
        c->lua = *lua;
        if (const json::value* v = member(*o, "collections")) {
            const json::array* a = v->if_array();
            if (!a) return refuse("'collections' is an array of collection names", "/collections");
            for (std::size_t i = 0; i < a->size(); ++i) {
                const json::value& n = (*a)[i];
                if (!n.is_string() || !docs::valid_collection_name(n.get_string())) {
                    return refuse("bad collection name: [A-Za-z0-9_.-], 1-128 bytes",
                                  pointer_join("/collections", i));
                }
                // Listed twice is a slip in the definition, refused like other ones (found
                // from outside: accepted without a word).
                if (std::ranges::find(c->lua_collections, std::string_view(n.get_string())) !=
                    c->lua_collections.end()) {
                    return refuse(
                        "collection '" + std::string(n.get_string()) + "' is listed twice",
                        pointer_join("/collections", i));
                }
                c->lua_collections.emplace_back(n.get_string());
            }
        }
    } else {
        if (!declarative) return refuse("a definition needs writes, emit or lua", "");
        if (member(*o, "collections")) {
            return refuse(
                "'collections' is for Lua definitions; declarative ones write what 'writes' names",
                "/collections");
        }
    }

    for (const auto& w : c->writes) d.collections.push_back(w.collection);
    for (const auto& n : c->lua_collections) d.collections.push_back(n);
    for (const auto& e : c->emits) d.emit_topics.push_back(e.topic);
    for (auto* list : {&d.collections, &d.emit_topics}) {
        std::sort(list->begin(), list->end());
        list->erase(std::unique(list->begin(), list->end()), list->end());
    }
    d.compiled = std::move(c);
    return d;
}

}  // namespace prom
