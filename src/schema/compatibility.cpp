#include "schema/compatibility.hpp"

#include <cmath>
#include <set>
#include <string>
#include <string_view>

#include "userproj/json_pointer.hpp"

namespace prom::schema {

namespace {

// JSON Schema's equality, as the validator applies it: `1` and `1.0` are one value (found
// from outside: changing an enum's 1 to 1.0 was refused as "enum value removed").
bool same_value(const json::value& a, const json::value& b) {
    return a == b || canonical_json(a) == canonical_json(b);
}

using userproj::pointer_join;

const json::object empty_object;

// true is {}, false stays false (nothing is valid).
const json::object* as_object(const json::value& v) {
    if (v.is_object()) return &v.get_object();
    if (v.is_bool() && v.get_bool()) return &empty_object;
    return nullptr;
}

const json::value* member(const json::object& o, std::string_view k) { return o.if_contains(k); }

std::optional<double> number(const json::object& o, std::string_view k) {
    const auto* v = o.if_contains(k);
    if (!v) return std::nullopt;
    if (v->is_int64()) return static_cast<double>(v->get_int64());
    if (v->is_uint64()) return static_cast<double>(v->get_uint64());
    if (v->is_double()) return v->get_double();
    return std::nullopt;
}

std::set<std::string> types_of(const json::object& o) {
    std::set<std::string> out;
    const auto* t = o.if_contains("type");
    if (!t) return {"array", "boolean", "integer", "null", "number", "object", "string"};
    if (t->is_string()) out.emplace(t->get_string());
    if (t->is_array()) {
        for (const auto& x : t->get_array()) {
            if (x.is_string()) out.emplace(x.get_string());
        }
    }
    return out;
}

problem refuse(std::string pointer, std::string message) {
    return problem{std::move(message) + " (a previous version accepted more)", std::move(pointer)};
}

// Keywords whose changes the check does not try to understand: a change refuses.
constexpr std::string_view undecided[] = {"allOf",
                                          "anyOf",
                                          "oneOf",
                                          "not",
                                          "if",
                                          "then",
                                          "else",
                                          "$ref",
                                          "definitions",
                                          "dependencies",
                                          "patternProperties",
                                          "contains",
                                          "propertyNames",
                                          "additionalItems"};

std::optional<problem> check(const json::value& prev_v, const json::value& next_v,
                             const std::string& at);

std::optional<problem> check_bounds(const json::object& prev, const json::object& next,
                                    const std::string& at) {
    // Lower bounds may only go down, upper bounds only up; a bound may not appear.
    if (auto n = number(next, "minimum")) {
        auto p = number(prev, "minimum");
        auto px = number(prev, "exclusiveMinimum");
        if (!((p && *p >= *n) || (px && *px >= *n))) {
            return refuse(pointer_join(at, "minimum"), "minimum added or raised");
        }
    }
    if (auto n = number(next, "exclusiveMinimum")) {
        auto p = number(prev, "minimum");
        auto px = number(prev, "exclusiveMinimum");
        if (!((p && *p > *n) || (px && *px >= *n))) {
            return refuse(pointer_join(at, "exclusiveMinimum"), "exclusiveMinimum added or raised");
        }
    }
    if (auto n = number(next, "maximum")) {
        auto p = number(prev, "maximum");
        auto px = number(prev, "exclusiveMaximum");
        if (!((p && *p <= *n) || (px && *px <= *n))) {
            return refuse(pointer_join(at, "maximum"), "maximum added or lowered");
        }
    }
    if (auto n = number(next, "exclusiveMaximum")) {
        auto p = number(prev, "maximum");
        auto px = number(prev, "exclusiveMaximum");
        if (!((p && *p < *n) || (px && *px <= *n))) {
            return refuse(pointer_join(at, "exclusiveMaximum"),
                          "exclusiveMaximum added or lowered");
        }
    }
    if (auto n = number(next, "multipleOf")) {
        auto p = number(prev, "multipleOf");
        if (!p || std::fabs(std::remainder(*p, *n)) > 1e-9 * std::fabs(*p)) {
            return refuse(pointer_join(at, "multipleOf"),
                          "multipleOf added or not a divisor of the previous one");
        }
    }
    for (std::string_view k : {"minLength", "minItems", "minProperties"}) {
        if (auto n = number(next, k); n && *n > 0) {
            auto p = number(prev, k);
            if (!p || *p < *n) return refuse(pointer_join(at, k), std::string(k) + " raised");
        }
    }
    for (std::string_view k : {"maxLength", "maxItems", "maxProperties"}) {
        if (auto n = number(next, k)) {
            auto p = number(prev, k);
            if (!p || *p > *n) return refuse(pointer_join(at, k), std::string(k) + " lowered");
        }
    }
    return std::nullopt;
}

std::optional<problem> check_values(const json::object& prev, const json::object& next,
                                    const std::string& at) {
    auto ptypes = types_of(prev);
    auto ntypes = types_of(next);
    for (const auto& t : ptypes) {
        bool kept = ntypes.contains(t) || (t == "integer" && ntypes.contains("number"));
        if (!kept) return refuse(pointer_join(at, "type"), "type '" + t + "' no longer allowed");
    }
    if (const auto* e = member(next, "enum")) {
        const auto* pe = member(prev, "enum");
        const auto* pc = member(prev, "const");
        json::array before;
        if (pe && pe->is_array()) before = pe->get_array();
        if (pc) before.push_back(*pc);
        if (!pe && !pc) return refuse(pointer_join(at, "enum"), "enum added");
        for (const auto& v : before) {
            bool found = false;
            for (const auto& x : e->get_array()) found = found || same_value(x, v);
            if (!found) return refuse(pointer_join(at, "enum"), "enum value removed");
        }
    }
    if (const auto* c = member(next, "const")) {
        const auto* pc = member(prev, "const");
        const auto* pe = member(prev, "enum");
        bool same =
            (pc && same_value(*pc, *c)) || (pe && pe->is_array() && pe->get_array().size() == 1 &&
                                            same_value(pe->get_array()[0], *c));
        if (!same) return refuse(pointer_join(at, "const"), "const added or changed");
    }
    for (std::string_view k : {"pattern", "format"}) {
        if (const auto* n = member(next, k)) {
            const auto* p = member(prev, k);
            if (!p || *p != *n)
                return refuse(pointer_join(at, k), std::string(k) + " added or changed");
        }
    }
    if (const auto* u = member(next, "uniqueItems"); u && u->is_bool() && u->get_bool()) {
        const auto* p = member(prev, "uniqueItems");
        if (!p || !p->is_bool() || !p->get_bool()) {
            return refuse(pointer_join(at, "uniqueItems"), "uniqueItems added");
        }
    }
    return std::nullopt;
}

std::optional<problem> check_object(const json::object& prev, const json::object& next,
                                    const std::string& at) {
    if (const auto* r = member(next, "required"); r && r->is_array()) {
        const auto* pr = member(prev, "required");
        for (const auto& name : r->get_array()) {
            bool had = false;
            if (pr && pr->is_array()) {
                for (const auto& x : pr->get_array()) had = had || x == name;
            }
            if (!had) {
                return refuse(pointer_join(at, "required"),
                              "new required property '" + std::string(name.as_string()) + "'");
            }
        }
    }
    // `additionalProperties: true` is the same as leaving it out (docs/schemas.md): an open
    // object, whose new optional properties are allowed. Compared as a `true` schema, it
    // refused them ("type 'array' no longer allowed"). Found from outside.
    auto unless_true = [](const json::value* v) -> const json::value* {
        return v && v->is_bool() && v->get_bool() ? nullptr : v;
    };
    const json::value* padd = unless_true(member(prev, "additionalProperties"));
    const json::value* nadd = unless_true(member(next, "additionalProperties"));
    const bool prev_closed = padd && padd->is_bool() && !padd->get_bool();
    static const json::object no_properties;
    const auto* pp = member(prev, "properties");
    const auto* np = member(next, "properties");
    const json::object& pprops = pp && pp->is_object() ? pp->get_object() : no_properties;
    const json::object& nprops = np && np->is_object() ? np->get_object() : no_properties;
    const std::string props_at = pointer_join(at, "properties");
    for (const auto& [name, nsub] : nprops) {
        if (const auto* psub = pprops.if_contains(name)) {
            if (auto p = check(*psub, nsub, pointer_join(props_at, name))) return p;
        } else if (padd && !prev_closed) {
            // A new property that the previous version's additionalProperties schema covered.
            if (auto p = check(*padd, nsub, pointer_join(props_at, name))) return p;
        }
        // A new property under an open object is allowed (docs/schemas.md says why).
    }
    for (const auto& [name, psub] : pprops) {
        if (nprops.contains(name)) continue;
        if (nadd) {
            if (auto p = check(psub, *nadd, pointer_join(at, "additionalProperties"))) {
                return refuse(pointer_join(props_at, name),
                              "property '" + std::string(name) +
                                  "' removed while additionalProperties refuses it");
            }
        }
    }
    if (nadd && !prev_closed) {
        if (!padd) {
            const auto* o = as_object(*nadd);
            if (!o || !o->empty()) {
                return refuse(pointer_join(at, "additionalProperties"),
                              "additionalProperties added");
            }
        } else if (auto p = check(*padd, *nadd, pointer_join(at, "additionalProperties"))) {
            return p;
        }
    }
    return std::nullopt;
}

std::optional<problem> check_items(const json::object& prev, const json::object& next,
                                   const std::string& at) {
    const auto* ni = member(next, "items");
    if (!ni) return std::nullopt;
    const auto* pi = member(prev, "items");
    if (ni->is_array() || (pi && pi->is_array())) {
        if (!pi || *pi != *ni) return refuse(pointer_join(at, "items"), "tuple items changed");
        return std::nullopt;
    }
    return check(pi ? *pi : json::value(true), *ni, pointer_join(at, "items"));
}

std::optional<problem> check(const json::value& prev_v, const json::value& next_v,
                             const std::string& at) {
    const json::object* prev = as_object(prev_v);
    if (!prev) return std::nullopt;  // false: no event was valid before
    const json::object* next = as_object(next_v);
    if (!next) return refuse(at, "the schema became false");
    for (std::string_view k : undecided) {
        const auto* n = member(*next, k);
        if (!n) continue;
        const auto* p = member(*prev, k);
        if (!p || *p != *n) {
            return problem{"'" + std::string(k) +
                               "' was added or changed: prom cannot check that change for "
                               "compatibility (set \"compatibility\":\"none\" to store it anyway)",
                           pointer_join(at, k)};
        }
    }
    if (auto p = check_values(*prev, *next, at)) return p;
    if (auto p = check_bounds(*prev, *next, at)) return p;
    if (auto p = check_object(*prev, *next, at)) return p;
    return check_items(*prev, *next, at);
}

}  // namespace

std::optional<problem> incompatibility(const json::value& previous, const json::value& next) {
    return check(previous, next, "");
}

}  // namespace prom::schema
