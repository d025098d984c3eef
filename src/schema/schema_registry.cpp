#include "schema/schema_registry.hpp"

#include "core/json_size.hpp"
#include "ops/alerts_topic.hpp"
#include "schema/compatibility.hpp"
#include "schema/json_schema.hpp"

namespace prom::schema {

namespace {

put_error bad(std::string code, std::string message, std::optional<std::string> pointer = {}) {
    errc e = code == "invalid_schema" || code == "incompatible_schema" ? errc::invalid_payload
                                                                       : errc::invalid_argument;
    return put_error{std::move(code), error{e, std::move(message)}, std::move(pointer)};
}

put_error store_failure(const error& e) { return put_error{"", e, std::nullopt}; }

result<std::optional<schema_version>> version_in(const std::optional<document>& d) {
    if (!d) return std::optional<schema_version>{};
    auto v = parse_json(d->body);
    if (!v || !v->is_object()) return fail(errc::corrupt, "a stored schema does not parse");
    auto out = schema_version_from_json(v->get_object());
    if (!out) return std::unexpected(out.error());
    return std::optional<schema_version>{std::move(*out)};
}

}  // namespace

json::object to_json(const schema_version& v) {
    json::object o;
    o["topic"] = v.topic;
    o["version"] = v.version;
    o["schema"] = v.schema;
    o["compatibility"] = v.compatibility;
    o["ts"] = v.ts.value;
    return o;
}

result<schema_version> schema_version_from_json(const json::object& o) {
    const auto* topic = o.if_contains("topic");
    const auto* version = o.if_contains("version");
    const auto* schema = o.if_contains("schema");
    const auto* compat = o.if_contains("compatibility");
    const auto* ts = o.if_contains("ts");
    if (!topic || !topic->is_string() || !version || !version->is_int64() || !schema || !compat ||
        !compat->is_string() || !ts || !ts->is_int64()) {
        return fail(errc::corrupt, "a stored schema does not have the registry's shape");
    }
    return schema_version{std::string(topic->get_string()), version->get_int64(), *schema,
                          std::string(compat->get_string()), ts_ms{ts->get_int64()}};
}

// The deepest schema a topic takes: its history document holds it three levels down.
constexpr std::size_t max_schema_depth = 61;

std::optional<put_error> schema_topic_problem(std::string_view topic) {
    event_input probe;
    probe.topic = std::string(topic);
    if (auto ok = validate_input(probe); !ok) return bad("invalid_topic", ok.error().message);
    if (topic.ends_with(".dlq")) {
        // A dead-letter topic holds prom's copies of events its projector could not apply:
        // a schema there would refuse the dead letter itself, and the projector would retry
        // the poison event for good instead of moving on.
        return bad("invalid_topic", "'" + std::string(topic) +
                                        "' is a dead-letter topic: its entries are prom's "
                                        "copies of failed events and take no schema");
    }
    if (topic == ops::alerts_topic) {
        return bad("invalid_topic",
                   "'" + std::string(topic) + "' holds prom's SLO alarms and takes no schema");
    }
    return std::nullopt;
}

std::expected<put_outcome, put_error> put_schema(store& s, std::string_view topic,
                                                 const json::value& body) {
    if (auto why = schema_topic_problem(topic)) return std::unexpected(std::move(*why));
    if (!body.is_object()) {
        return std::unexpected(bad(
            "bad_request", R"(the body is {"schema": {…}, "compatibility": "backward"|"none"})"));
    }
    const auto& o = body.get_object();
    for (const auto& [k, v] : o) {
        if (k != "schema" && k != "compatibility") {
            return std::unexpected(bad("bad_request",
                                       "unknown field '" + std::string(k) +
                                           "': the body is {\"schema\", \"compatibility\"}",
                                       "/" + std::string(k)));
        }
    }
    const auto* schema = o.if_contains("schema");
    if (!schema)
        return std::unexpected(bad("bad_request", "the body has no \"schema\"", "/schema"));
    // A schema's versions are kept in one document, three levels above each schema, and a
    // document nests at most 64 levels: said here, with the schema's place (it was the
    // store's "the document would nest deeper than 64 levels", found from outside).
    if (measure_json(*schema).depth > max_schema_depth) {
        return std::unexpected(
            bad("bad_request",
                "the schema nests deeper than " + std::to_string(max_schema_depth) + " levels",
                "/schema"));
    }
    std::string compatibility = "backward";
    if (const auto* c = o.if_contains("compatibility")) {
        if (!c->is_string() || (c->get_string() != "backward" && c->get_string() != "none")) {
            return std::unexpected(
                bad("bad_request", R"(compatibility is "backward" or "none")", "/compatibility"));
        }
        compatibility = c->get_string();
    }
    auto compiled = compiled_schema::compile(*schema);
    if (!compiled) {
        return std::unexpected(
            bad("invalid_schema", compiled.error().message, "/schema" + compiled.error().pointer));
    }

    auto txn = s.begin();
    if (!txn) return std::unexpected(store_failure(txn.error()));
    auto current_doc = (*txn)->find_one(current_collection, topic);
    if (!current_doc) return std::unexpected(store_failure(current_doc.error()));
    auto current = version_in(*current_doc);
    if (!current) return std::unexpected(store_failure(current.error()));
    // Compared as stored (canonical JSON): `0.0` is stored as `0`, and comparing the values
    // would take the same schema for a new version on every PUT (found from outside).
    if (*current && (*current)->compatibility == compatibility &&
        canonical_json((*current)->schema) == canonical_json(*schema)) {
        return put_outcome{false, std::move(**current)};
    }
    if (*current && compatibility != "none") {
        if (auto p = incompatibility((*current)->schema, *schema)) {
            return std::unexpected(bad("incompatible_schema",
                                       "not backward compatible with version " +
                                           std::to_string((*current)->version) + ": " + p->message,
                                       "/schema" + p->pointer));
        }
    }
    schema_version next{std::string(topic), *current ? (*current)->version + 1 : 1, *schema,
                        compatibility, now_ms()};

    auto history_doc = (*txn)->find_one(history_collection, topic);
    if (!history_doc) return std::unexpected(store_failure(history_doc.error()));
    json::array versions;
    if (*history_doc) {
        auto h = parse_json((*history_doc)->body);
        if (!h || !h->is_object() || !h->get_object().contains("versions") ||
            !h->get_object().at("versions").is_array()) {
            return std::unexpected(
                store_failure(error{errc::corrupt, "a stored schema history does not parse"}));
        }
        versions = h->get_object().at("versions").get_array();
    }
    versions.push_back(to_json(next));
    json::object history{{"topic", next.topic}, {"versions", std::move(versions)}};
    if (auto d = (*txn)->update_one(history_collection, topic, history, true); !d) {
        return std::unexpected(store_failure(d.error()));
    }
    if (auto d = (*txn)->update_one(current_collection, topic, to_json(next), true); !d) {
        return std::unexpected(store_failure(d.error()));
    }
    if (auto ok = (*txn)->commit(); !ok) return std::unexpected(store_failure(ok.error()));
    return put_outcome{true, std::move(next)};
}

result<std::vector<schema_version>> current_schemas(store& s) {
    std::vector<schema_version> out;
    find_query q;
    q.collection = std::string(current_collection);
    q.limit = 1000;
    for (;;) {
        auto page = find_fitting(s, q);
        if (!page) return std::unexpected(page.error());
        for (const auto& d : *page) {
            auto v = version_in(d);
            if (!v) return std::unexpected(v.error());
            out.push_back(std::move(**v));
        }
        if (page->size() < q.limit) break;
        q.offset += page->size();
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.topic < b.topic; });
    return out;
}

result<std::optional<schema_version>> current_schema(store& s, std::string_view topic) {
    auto d = s.find_one(current_collection, topic);
    if (!d) return std::unexpected(d.error());
    return version_in(*d);
}

result<std::vector<schema_version>> schema_versions(store& s, std::string_view topic) {
    auto d = s.find_one(history_collection, topic);
    if (!d) return std::unexpected(d.error());
    std::vector<schema_version> out;
    if (!*d) return out;
    auto h = parse_json((*d)->body);
    if (!h || !h->is_object() || !h->get_object().contains("versions") ||
        !h->get_object().at("versions").is_array()) {
        return fail(errc::corrupt, "a stored schema history does not parse");
    }
    for (const auto& v : h->get_object().at("versions").get_array()) {
        if (!v.is_object()) return fail(errc::corrupt, "a stored schema history does not parse");
        auto one = schema_version_from_json(v.get_object());
        if (!one) return std::unexpected(one.error());
        out.push_back(std::move(*one));
    }
    return out;
}

}  // namespace prom::schema
