// Topic schemas (src/schema, docs/schemas.md): a schema stored as `PUT /schemas/{topic}` stores
// it (put_schema: the draft-7 meta-schema check, the refusal of a remote `$ref`, the
// compatibility check against the previous version), then a payload checked against it as
// every publish checks it (payload_schemas::check, the JSON Pointer of the first violation).
//
// The input is up to three JSON texts separated by NUL bytes: a schema, a payload and a
// previous schema. The previous schema, when there is one, is stored first (compatibility
// "none"), so that the schema is checked against it as a second version.
//
// Properties checked besides the sanitizers (and no hang: a pathological `pattern` is a timeout):
// - put_schema accepts exactly the schemas compiled_schema::compile accepts (when stored first);
// - every schema that compiles is compatible with itself;
// - a payload valid under the previous version stays valid under a version the check called
//   compatible (the promise of docs/schemas.md, "Compatibility"), once the new properties
//   that docs/schemas.md allows on purpose are left out of the new version;
// - the publish check agrees with first_violation, and its path is "/payload" + a JSON
//   Pointer that names a place in the payload (or, for a missing required member, its name).
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "prom/store.hpp"
#include "schema/compatibility.hpp"
#include "schema/json_schema.hpp"
#include "schema/payload_schemas.hpp"
#include "schema/schema_registry.hpp"

namespace {

using namespace prom;

constexpr std::string_view topic = "fuzz.topic";

// PROM_FUZZ_DEBUG=1 while replaying an input: says why a schema or a payload was refused.
bool debugging() {
    static const bool on = std::getenv("PROM_FUZZ_DEBUG") != nullptr;
    return on;
}

// The NUL-separated parts of the input; a part that is not JSON is nullopt.
std::vector<std::optional<json::value>> parts_of(std::string_view text) {
    std::vector<std::optional<json::value>> out;
    while (out.size() < 3) {
        auto nul = text.find('\0');
        auto v = parse_json(text.substr(0, nul));
        out.push_back(v ? std::optional<json::value>(std::move(*v)) : std::nullopt);
        if (nul == std::string_view::npos) break;
        text.remove_prefix(nul + 1);
    }
    return out;
}

// A pointer is "" or "/"-separated tokens with "~" escaped as "~0" or "~1" (RFC 6901).
bool well_formed_pointer(std::string_view p) {
    if (p.empty()) return true;
    if (p.front() != '/') return false;
    for (std::size_t i = 0; i < p.size(); ++i) {
        if (p[i] != '~') continue;
        if (i + 1 >= p.size() || (p[i + 1] != '0' && p[i + 1] != '1')) return false;
    }
    return true;
}

bool valid_under(const json::value& schema, const json::value& payload) {
    auto compiled = schema::compiled_schema::compile(schema);
    return compiled && !(*compiled)->first_violation(payload);
}

// `next` without the properties it adds to an object that `previous` also describes: the one
// narrowing docs/schemas.md ("Compatibility") allows on purpose (a new optional property on
// an open object), followed where the check follows both versions (properties present in
// both, `items`, `additionalProperties`).
json::value without_new_properties(const json::value& previous, const json::value& next) {
    static const json::object empty;
    const json::object* p = previous.is_object()                        ? &previous.get_object()
                            : previous.is_bool() && previous.get_bool() ? &empty
                                                                        : nullptr;
    if (!p || !next.is_object()) return next;
    json::object out = next.get_object();
    if (auto* np = out.if_contains("properties"); np && np->is_object()) {
        const auto* pp = p->if_contains("properties");
        json::object kept;
        for (const auto& m : np->get_object()) {
            const json::value* before =
                pp && pp->is_object() ? pp->get_object().if_contains(m.key()) : nullptr;
            if (before) kept[m.key()] = without_new_properties(*before, m.value());
        }
        *np = std::move(kept);
    }
    for (std::string_view k : {"items", "additionalProperties"}) {
        if (auto* n = out.if_contains(k); n && n->is_object()) {
            if (const auto* before = p->if_contains(k)) *n = without_new_properties(*before, *n);
        }
    }
    return out;
}

json::value body_of(const json::value& schema, std::string_view compatibility) {
    return json::object{{"schema", schema}, {"compatibility", compatibility}};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto parts = parts_of(fuzz::as_text(data, size));
    if (!parts[0]) return 0;
    const json::value& next = *parts[0];
    const json::value* payload = parts.size() > 1 && parts[1] ? &*parts[1] : nullptr;
    const json::value* previous = parts.size() > 2 && parts[2] ? &*parts[2] : nullptr;

    auto opened = open_store("memory:");
    if (!opened) fuzz::property_failed();
    store& s = **opened;

    auto compiled = schema::compiled_schema::compile(next);
    if (debugging() && !compiled) {
        std::fprintf(stderr, "schema: %s at '%s'\n", compiled.error().message.c_str(),
                     compiled.error().pointer.c_str());
    }
    if (compiled) fuzz::require(!schema::incompatibility(next, next));

    bool previous_stored = false;
    if (previous) {
        auto first = schema::put_schema(s, topic, body_of(*previous, "none"));
        fuzz::require(first.has_value() == schema::compiled_schema::compile(*previous).has_value());
        previous_stored = first.has_value();
    }
    auto put = schema::put_schema(s, topic, body_of(next, "backward"));
    if (!previous_stored) fuzz::require(put.has_value() == compiled.has_value());
    if (!put) {
        if (debugging()) {
            std::fprintf(stderr, "put: %s %s at '%s'\n", put.error().code.c_str(),
                         put.error().err.message.c_str(), put.error().pointer.value_or("").c_str());
        }
        // The store keeps the previous version: the publish check below is against it.
    }
    if (!payload) return 0;

    if (compiled) {
        auto why = (*compiled)->first_violation(*payload);
        if (why) fuzz::require(well_formed_pointer(why->pointer));
        if (debugging()) {
            std::fprintf(stderr, "payload: %s at '%s'\n", why ? why->message.c_str() : "valid",
                         why ? why->pointer.c_str() : "");
        }
        // Backward compatibility: what the previous version accepted, this one accepts (but
        // for the properties it adds, see without_new_properties).
        // (A `$ref` into a left-out property makes the rest uncompilable: nothing to check.)
        if (put && previous_stored && valid_under(*previous, *payload)) {
            auto narrowed =
                schema::compiled_schema::compile(without_new_properties(*previous, next));
            if (narrowed) fuzz::require(!(*narrowed)->first_violation(*payload));
        }
    }

    // The publish path: the current schema of the topic (the new one if it was stored).
    schema::payload_schemas checker(s, std::chrono::milliseconds(0));
    event_input in;
    in.topic = std::string(topic);
    in.payload = *payload;
    auto checked = checker.check({in});
    const json::value* current = put ? &next : previous_stored ? previous : nullptr;
    if (!current) {
        fuzz::require(checked.has_value());
        return 0;
    }
    fuzz::require(checked.has_value() == valid_under(*current, *payload));
    if (!checked) {
        fuzz::require(checked.error().code == errc::invalid_payload);
        const auto& path = checked.error().path;
        fuzz::require(path && path->starts_with("/payload") &&
                      well_formed_pointer(std::string_view(*path).substr(8)));
    }
    return 0;
}
