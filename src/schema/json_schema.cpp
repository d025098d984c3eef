// With schema_depth.cpp (valijson's JSON Pointer decoder only) and valijson_overrides.hpp
// (included here only), the only file that includes valijson (it throws, and its headers are
// heavy).
#include "schema/json_schema.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

// Without it valijson reports a schema it cannot use (a `$ref` to a definition that is not
// there, a keyword it cannot apply to a value) by aborting the process; with it, by throwing,
// and compile() and first_violation() turn that into a refusal.
#define VALIJSON_USE_EXCEPTIONS 1
#include <valijson/adapters/boost_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "core/large_stack.hpp"
#include "schema/draft7_metaschema.hpp"
#include "schema/schema_depth.hpp"
#include "schema/schema_regex.hpp"
#include "schema/valijson_overrides.hpp"
#include "userproj/json_pointer.hpp"

namespace prom::schema {

using userproj::pointer_join;

struct compiled_schema::impl {
    json::value source;  // valijson's schema keeps no reference to it; kept for clarity only
    valijson::Schema compiled;
};

compiled_schema::compiled_schema(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
compiled_schema::~compiled_schema() = default;

namespace {

// valijson names a place as {"<root>", "[name]", "[3]", …}. Walking the checked value
// along it tells an array index from a property name, which the brackets do not.
std::string pointer_of(const std::vector<std::string>& context, const json::value& target) {
    std::string out;
    const json::value* at = &target;
    for (std::size_t i = 1; i < context.size(); ++i) {
        std::string_view token = context[i];
        if (token.size() >= 2 && token.front() == '[' && token.back() == ']') {
            token = token.substr(1, token.size() - 2);
        }
        out = pointer_join(out, token);
        if (!at) continue;
        if (at->is_object()) {
            at = at->get_object().if_contains(token);
        } else if (at->is_array()) {
            std::size_t index = 0;
            for (char c : token) index = index * 10 + static_cast<std::size_t>(c - '0');
            at = index < at->get_array().size() ? &at->get_array()[index] : nullptr;
        } else {
            at = nullptr;
        }
    }
    return out;
}

// "Missing required property 'pid'." points at the object; the missing member is more use.
std::string refine(std::string pointer, const std::string& description) {
    constexpr std::string_view missing = "Missing required property '";
    if (description.starts_with(missing)) {
        auto end = description.rfind('\'');
        if (end != std::string::npos && end > missing.size()) {
            return pointer_join(
                pointer,
                std::string_view(description).substr(missing.size(), end - missing.size()));
        }
    }
    return pointer;
}

std::optional<problem> first_error(const valijson::Subschema& schema, const json::value& target,
                                   valijson::Validator& validator) {
    valijson::adapters::BoostJsonAdapter adapter(target);
    std::uint64_t needed = 0;
    std::uint64_t allowed = 0;
    {
        // Each pass has its own budget for patterns (schema_regex.hpp), so the second one
        // points at the string that exhausted it rather than at the first one it checks.
        pattern_check_scope patterns;
        check_budget::scope budget(target);
        if (validator.validate(schema, adapter, nullptr)) return std::nullopt;
        allowed = budget.budget();
        // Where would take another check as long: the value as a whole is refused.
        if (budget.ran_out()) return problem{check_budget::over_budget_message(allowed), ""};
        needed = budget.used();
    }
    // Valid payloads take the fast path above (it stops at the first failed constraint);
    // only a refused one is checked again to say where.
    valijson::ValidationResults results;
    pattern_check_scope patterns;
    check_budget::scope budget(std::min(2 * needed + 1000, check_budget::locating_budget), allowed);
    validator.validate(schema, adapter, &results);
    valijson::ValidationResults::Error e;
    if (!results.popError(e)) return problem{"the value does not match the schema", ""};
    // valijson records the innermost failure first, then each enclosing one.
    return problem{e.description, refine(pointer_of(e.context, target), e.description)};
}

const valijson::Schema& metaschema() {
    // valijson::Schema can be neither copied nor moved.
    static const std::unique_ptr<valijson::Schema> meta = [] {
        auto s = std::make_unique<valijson::Schema>();
        auto doc = parse_json(draft7_metaschema);
        valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
        valijson::adapters::BoostJsonAdapter adapter(*doc);
        parser.populateSchema(adapter, *s);
        return s;
    }();
    return *meta;
}

// Refuses what compiling would fetch or what would throw later, when a payload is checked.
std::optional<problem> local_only(const json::value& v, const std::string& at) {
    if (v.is_array()) {
        for (std::size_t i = 0; i < v.get_array().size(); ++i) {
            if (auto p = local_only(v.get_array()[i], pointer_join(at, i))) return p;
        }
        return std::nullopt;
    }
    if (!v.is_object()) return std::nullopt;
    for (const auto& [k, member] : v.get_object()) {
        std::string here = pointer_join(at, k);
        if (k == "$ref" && member.is_string() && !member.get_string().starts_with("#")) {
            return problem{"$ref '" + std::string(member.get_string()) +
                               "' is not in this schema: only local references (\"#/…\") are "
                               "allowed, prom fetches nothing",
                           here};
        }
        if (k == "$id" && member.is_string()) {
            // A base URI would make "#…" references resolve against another document.
            return problem{"$id is not supported: a topic's schema is one document", here};
        }
        if (k == "pattern" && member.is_string()) {
            if (auto why = pattern_error(member.get_string())) {
                return problem{"pattern is not a valid regular expression: " + *why, here};
            }
        }
        if (k == "patternProperties" && member.is_object()) {
            for (const auto& p : member.get_object()) {
                if (auto why = pattern_error(p.key())) {
                    return problem{
                        "this name in patternProperties is not a valid regular "
                        "expression: " +
                            *why,
                        pointer_join(here, p.key())};
                }
            }
        }
        if (auto p = local_only(member, here)) return p;
    }
    return std::nullopt;
}

}  // namespace

namespace {

// JSON Schema's `integer` is any number without a fractional part (`1.0`, `2e3`), but
// valijson asks the parsed value's type, and Boost.JSON reads those as doubles. The check
// therefore sees such doubles as the integers they are; the stored payload keeps its text.
bool whole_double(const json::value& v) {
    if (!v.is_double()) return false;
    const double d = v.get_double();
    return std::isfinite(d) && d == std::trunc(d) && d >= -9223372036854775808.0 &&
           d < 9223372036854775808.0;
}

// The place of the first value or member name, in document order, for which `bad_value` or
// `bad_name` holds, if any.
template <class BadValue, class BadName>
std::optional<std::string> first_place(const json::value& v, const std::string& at,
                                       const BadValue& bad_value, const BadName& bad_name) {
    if (bad_value(v)) return at;
    if (v.is_array()) {
        for (std::size_t i = 0; i < v.get_array().size(); ++i) {
            auto p = first_place(v.get_array()[i], pointer_join(at, i), bad_value, bad_name);
            if (p) return p;
        }
    } else if (v.is_object()) {
        for (const auto& m : v.get_object()) {
            std::string here = pointer_join(at, m.key());
            if (bad_name(m.key())) return here;
            if (auto p = first_place(m.value(), here, bad_value, bad_name)) return p;
        }
    }
    return std::nullopt;
}

// valijson's Boost.JSON adapter reads a string up to its first NUL, so "user\u0000admin"
// passed `"enum": ["user"]`, a pattern, maxLength and const: strings (and member names) with
// U+0000 are refused rather than checked wrong. The place of the first one, if any.
std::optional<std::string> first_nul(const json::value& v, const std::string& at) {
    constexpr auto has_nul = [](std::string_view s) { return s.find('\0') != s.npos; };
    return first_place(
        v, at, [&](const json::value& x) { return x.is_string() && has_nul(x.get_string()); },
        has_nul);
}

// An integer of 2^63 or more (Boost.JSON's unsigned kind): valijson's adapter sees it as
// neither integer nor double, so bounds let it through and `"type": "number"` refused it.
// It cannot be held exactly as a double either, so a payload with one is refused rather
// than checked wrong.
std::optional<std::string> first_beyond_int64(const json::value& v, const std::string& at) {
    return first_place(
        v, at, [](const json::value& x) { return x.is_uint64(); },
        [](std::string_view) { return false; });
}

// Checks compare numbers as doubles, and JavaScript (`prom gen ts`) holds them as doubles:
// a bound, const or enum value of 2^53 or more in magnitude cannot be compared exactly
// (`maximum: 2^53` let 2^53 + 1 through, `const: 12345678901234567` matched …568), so such
// a schema is refused. Payload numbers beyond 2^53 compare right against smaller ones.
bool unsafe_number(const json::value& v) {
    constexpr std::int64_t limit = std::int64_t{1} << 53;
    if (v.is_int64()) return v.get_int64() >= limit || v.get_int64() <= -limit;
    if (v.is_uint64()) return true;  // above int64: far above 2^53
    if (v.is_double()) {
        return std::isfinite(v.get_double()) &&
               std::fabs(v.get_double()) >= static_cast<double>(limit);
    }
    return false;
}

// Whether `leaf` holds for a scalar anywhere in `v`.
template <class Leaf>
bool any_leaf(const json::value& v, const Leaf& leaf) {
    if (v.is_array()) {
        return std::ranges::any_of(v.get_array(), [&](const auto& i) { return any_leaf(i, leaf); });
    }
    if (v.is_object()) {
        return std::ranges::any_of(v.get_object(),
                                   [&](const auto& m) { return any_leaf(m.value(), leaf); });
    }
    return leaf(v);
}

std::optional<std::string> first_unsafe_bound(const json::value& v, const std::string& at) {
    static constexpr std::string_view numeric[] = {"maximum", "minimum", "exclusiveMaximum",
                                                   "exclusiveMinimum", "multipleOf"};
    if (v.is_array()) {
        for (std::size_t i = 0; i < v.get_array().size(); ++i) {
            if (auto p = first_unsafe_bound(v.get_array()[i], pointer_join(at, i))) return p;
        }
    } else if (v.is_object()) {
        for (const auto& m : v.get_object()) {
            std::string here = pointer_join(at, m.key());
            const std::string_view key = m.key();
            const bool keyword_value = std::ranges::find(numeric, key) != std::end(numeric);
            if ((keyword_value && unsafe_number(m.value())) ||
                ((key == "const" || key == "enum") && any_leaf(m.value(), unsafe_number))) {
                return here;
            }
            if (auto p = first_unsafe_bound(m.value(), here)) return p;
        }
    }
    return std::nullopt;
}

bool has_whole_doubles(const json::value& v) { return any_leaf(v, whole_double); }

void whole_doubles_as_integers(json::value& v) {
    if (v.is_array()) {
        for (auto& item : v.get_array()) whole_doubles_as_integers(item);
    } else if (v.is_object()) {
        for (auto& m : v.get_object()) whole_doubles_as_integers(m.value());
    } else if (whole_double(v)) {
        v = static_cast<std::int64_t>(v.get_double());
    }
}

}  // namespace

std::expected<std::shared_ptr<const compiled_schema>, problem> compiled_schema::compile(
    const json::value& schema) {
    if (!schema.is_object() && !schema.is_bool()) {
        return std::unexpected(problem{"a JSON Schema is an object (or true/false)", ""});
    }
    if (schema.is_object()) {
        if (const auto* s = schema.get_object().if_contains("$schema")) {
            static constexpr std::string_view draft7[] = {
                "http://json-schema.org/draft-07/schema#", "http://json-schema.org/draft-07/schema",
                "https://json-schema.org/draft-07/schema#",
                "https://json-schema.org/draft-07/schema"};
            bool ok = false;
            for (auto d : draft7) ok = ok || (s->is_string() && s->get_string() == d);
            if (!ok) {
                return std::unexpected(
                    problem{"$schema must be draft 07 (http://json-schema.org/draft-07/schema#)",
                            "/$schema"});
            }
        }
    }
    if (auto p = local_only(schema, "")) return std::unexpected(*p);
    if (auto at = first_nul(schema, "")) {
        return std::unexpected(problem{"a schema's strings may not contain U+0000", *at});
    }
    if (auto at = first_unsafe_bound(schema, "")) {
        return std::unexpected(
            problem{"a number of 2^53 (9007199254740992) or more in magnitude cannot be compared "
                    "exactly (JavaScript holds numbers as doubles too): bounds, const and enum "
                    "stay below it",
                    *at});
    }
    if (auto p = depth_problem(schema)) return std::unexpected(*p);
    // Compiled on a stack sized for the deepest nesting depth_problem lets through, not on
    // the caller's, which may be smaller: a release server's 8 MiB held 6,000 levels and not
    // 10,000; under AddressSanitizer 1,000 levels overflowed 8 MiB, and 2,000 fit in this.
    constexpr std::size_t compile_stack_bytes = std::size_t{64} * 1024 * 1024;
    std::expected<std::shared_ptr<const compiled_schema>, problem> result;
    auto compile_here = [&schema, &result] {
        try {
            // The meta-schema's integers (maxLength, minItems, …) are JSON Schema's too:
            // `5.0` and `1e0` are integers there as in a payload.
            json::value checked = schema;
            if (has_whole_doubles(checked)) whole_doubles_as_integers(checked);
            valijson::Validator meta_validator;
            if (auto p = first_error(metaschema(), checked, meta_validator)) {
                result = std::unexpected(
                    problem{"not a valid JSON Schema (draft 7): " + p->message, p->pointer});
                return;
            }
            auto out = std::make_unique<impl>();
            out->source = std::move(checked);
            valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
            valijson::adapters::BoostJsonAdapter adapter(out->source);
            parser.populateSchema(adapter, out->compiled);
            result = std::shared_ptr<const compiled_schema>(new compiled_schema(std::move(out)));
        } catch (const std::exception& e) {
            result =
                std::unexpected(problem{std::string("not a usable JSON Schema: ") + e.what(), ""});
        }
    };
    // No thread (a limit on threads or on memory): on the caller's stack, rather than refusing
    // a valid schema; a thread's usual 8 MiB holds the bound in a release build.
    if (!run_on_large_stack(compile_stack_bytes, compile_here)) compile_here();
    return result;
}

std::optional<problem> compiled_schema::first_violation(const json::value& payload) const {
    // A Validator caches compiled regular expressions: one per thread, shared by schemas.
    thread_local valijson::Validator validator;
    if (auto at = first_nul(payload, "")) {
        return problem{"a string with U+0000 cannot be checked against the schema", *at};
    }
    if (auto at = first_beyond_int64(payload, "")) {
        return problem{
            "an integer of 2^63 (9223372036854775808) or more cannot be checked "
            "against the schema",
            *at};
    }
    try {
        if (has_whole_doubles(payload)) {
            json::value as_checked = payload;
            whole_doubles_as_integers(as_checked);
            return first_error(impl_->compiled, as_checked, validator);
        }
        return first_error(impl_->compiled, payload, validator);
    } catch (const std::exception& e) {
        return problem{std::string("the schema could not be applied: ") + e.what(), ""};
    }
}

}  // namespace prom::schema
