// With schema_depth.cpp (valijson's JSON Pointer decoder only), the only file that includes
// valijson (it throws, and its headers are heavy).
#include "schema/json_schema.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

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
#include "userproj/json_pointer.hpp"

namespace prom::schema {
namespace {

// How many subschemas one check of one value may apply (docs/schemas.md, "Bounded work").
// anyOf/oneOf over references fan out, and each level of a payload can multiply them:
// {"allOf":[{"items":{"$ref":"#"}},{"items":{"$ref":"#"}}]} applies 2^depth subschemas to a
// payload of nested arrays, so a small schema and a small payload kept a network thread busy
// for good. Past the budget the value is refused, as a pattern too costly to match is.
constexpr std::uint64_t subschema_budget = 1'000'000;

// The second check of a refused value, which records where it fails, keeps every failure it
// meets (about 350 bytes each): its budget is what the first check needed, with room, and at
// most this.
constexpr std::uint64_t locating_budget = 50'000;

const std::string& over_budget_message() {
    static const std::string m = "checking the value needs more than " +
                                 std::to_string(subschema_budget) +
                                 " subschema checks; prom stops there";
    return m;
}

struct subschema_steps {
    bool counting = false;
    bool ran_out = false;
    std::uint64_t left = 0;
};
thread_local subschema_steps steps;

// One check of one value, on this thread, with `budget` subschemas to apply.
class subschema_budget_scope {
  public:
    explicit subschema_budget_scope(std::uint64_t budget) : budget_(budget) {
        steps = {.counting = true, .ran_out = false, .left = budget};
    }
    ~subschema_budget_scope() { steps.counting = false; }
    subschema_budget_scope(const subschema_budget_scope&) = delete;
    subschema_budget_scope& operator=(const subschema_budget_scope&) = delete;

    bool ran_out() const { return steps.ran_out; }
    std::uint64_t used() const { return budget_ - steps.left; }

  private:
    std::uint64_t budget_;
};

}  // namespace
}  // namespace prom::schema

// valijson's checks that prom replaces, for the one adapter it uses (explicit specializations
// of valijson's visitor, before anything instantiates it; docs/schemas.md, "Patterns").
namespace valijson {

using prom_visitor = ValidationVisitor<adapters::BoostJsonAdapter>;

namespace {

using prom::schema::pattern_match;

// pattern and patternProperties: Boost.Regex with a bound on backtracking (schema_regex.hpp)
// instead of std::regex, which can take exponential time or overflow the stack. Not knowing
// whether a string matches refuses the value, whatever matching would have decided.
pattern_match search(const std::string& pattern, const std::string& text,
                     ValidationResults* results, const std::vector<std::string>& context) {
    auto found = prom::schema::search_pattern(pattern, text);
    if (found == pattern_match::too_complex && results) {
        results->pushError(context, "Matching the pattern '" + pattern +
                                        "' needs more backtracking than prom allows.");
    }
    return found;
}

}  // namespace

// valijson's validateSchema, counting each subschema applied against the budget above.
template <>
bool prom_visitor::validateSchema(const Subschema& subschema) {
    auto& steps = prom::schema::steps;
    if (steps.counting) {
        if (steps.left == 0) {
            if (m_results && !steps.ran_out) {
                m_results->pushError(m_context, prom::schema::over_budget_message());
            }
            steps.ran_out = true;
            return false;
        }
        --steps.left;
    }
    if (subschema.getAlwaysInvalid()) return false;
    Subschema::ApplyFunction apply = [this](const constraints::Constraint& constraint) {
        return validationCallback(constraint, *this);
    };
    // Without results, the first failed constraint ends the check; with them, every
    // constraint is checked so that each failure is recorded.
    return m_results == nullptr ? subschema.applyStrict(apply) : subschema.apply(apply);
}

template <>
bool prom_visitor::visit(const constraints::PatternConstraint& constraint) {
    if ((m_strictTypes && !m_target.isString()) || !m_target.maybeString()) return true;
    std::string pattern(constraint.getPattern<std::string::allocator_type>());
    auto found = search(pattern, m_target.asString(), m_results, m_context);
    if (found == pattern_match::found) return true;
    if (found == pattern_match::not_found && m_results) {
        m_results->pushError(m_context, "Failed to match regex specified by 'pattern' constraint.");
    }
    return false;
}

// `format` is an annotation in prom (docs/schemas.md): valijson 1.0 checks three formats with
// std::regex, and applied to a value that is not a string it throws.
template <>
bool prom_visitor::visit(const constraints::FormatConstraint& /*constraint*/) {
    return true;
}

namespace {

// A key per value such that two values are equal by valijson's strict comparison exactly when
// their keys are: numbers by their double value (1 and 1.0 alike, 0 and -0.0 alike), objects
// whatever the order of their members, strings and names length-prefixed.
void append_equality_key(std::string& out, const adapters::BoostJsonAdapter& v) {
    if (v.isNull()) {
        out += 'n';
    } else if (v.isBool()) {
        out += v.asBool() ? 't' : 'f';
    } else if (v.isNumber()) {
        double d = v.isDouble() || v.isInteger() ? v.getNumber() : v.asDouble();
        if (d == 0) d = 0;  // -0.0 == 0.0
        char digits[32];
        auto [end, ec] = std::to_chars(digits, digits + sizeof digits, d);
        out += 'd';
        out.append(digits, end);
        out += ';';
    } else if (v.isString()) {
        auto text = v.asString();
        out += 's' + std::to_string(text.size()) + ':' + text;
    } else if (v.isArray()) {
        out += '[';
        for (const auto& item : v.getArray()) append_equality_key(out, item);
        out += ']';
    } else if (v.isObject()) {
        // Adapters cannot be assigned: the names are sorted with the index of their value.
        std::vector<adapters::BoostJsonAdapter> values;
        std::vector<std::pair<std::string, std::size_t>> names;
        for (const auto& m : v.getObject()) {
            names.emplace_back(m.first, values.size());
            values.push_back(m.second);
        }
        std::sort(names.begin(), names.end());
        out += '{';
        for (const auto& [name, at] : names) {
            out += std::to_string(name.size()) + ':' + name;
            append_equality_key(out, values[at]);
        }
        out += '}';
    }
}

}  // namespace

// uniqueItems: valijson compares every pair of items, which is quadratic (30,000 numbers in
// a 200 KB payload held a network thread for 4 s). Here each item's equality key goes into a
// hash set: one pass. The error names the first item equal to an earlier one.
template <>
bool prom_visitor::visit(const constraints::UniqueItemsConstraint& /*constraint*/) {
    if ((m_strictTypes && !m_target.isArray()) || !m_target.maybeArray()) return true;
    std::unordered_map<std::string, std::size_t> first_index;
    std::size_t index = 0;
    for (const auto& item : m_target.asArray()) {
        std::string key;
        append_equality_key(key, item);
        auto [earlier, added] = first_index.try_emplace(std::move(key), index);
        if (!added) {
            if (m_results) {
                std::vector<std::string> context = m_context;
                context.push_back("[" + std::to_string(index) + "]");
                m_results->pushError(
                    context, "Elements at indexes #" + std::to_string(earlier->second) + " and #" +
                                 std::to_string(index) + " violate uniqueness constraint.");
            }
            return false;
        }
        ++index;
    }
    return true;
}

// valijson's own loop over an object's members, with the pattern matched as above.
template <>
template <>
bool prom_visitor::ValidatePatternPropertySubschemas::operator()(
    const constraints::PropertiesConstraint::String& patternProperty,
    const Subschema* subschema) const {
    const std::string pattern(patternProperty.c_str());
    bool matchFound = false;
    for (const auto m : m_object) {
        auto found = search(pattern, m.first, m_results, m_context);
        if (found == pattern_match::too_complex) {
            if (m_validated) *m_validated = false;
            return false;
        }
        if (found == pattern_match::not_found) continue;
        matchFound = true;
        if (m_propertiesMatched) m_propertiesMatched->insert(m.first);
        std::vector<std::string> newContext = m_context;
        newContext.push_back("[" + m.first + "]");
        ValidationVisitor validator(m.second, newContext, m_strictTypes, m_results, m_regexesCache);
        if (validator.validateSchema(*subschema)) continue;
        if (m_results) {
            m_results->pushError(
                m_context,
                "Failed to validate against schema associated with pattern '" + pattern + "'.");
        }
        if (m_validated) *m_validated = false;
        if (!m_continueOnFailure) return false;
    }
    if (!matchFound && !m_continueIfUnmatched) return false;
    return m_continueOnSuccess;
}

}  // namespace valijson

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
    {
        // Each pass has its own budget for patterns (schema_regex.hpp), so the second one
        // points at the string that exhausted it rather than at the first one it checks.
        pattern_check_scope patterns;
        subschema_budget_scope budget(subschema_budget);
        if (validator.validate(schema, adapter, nullptr)) return std::nullopt;
        // Where would take another check as long: the value as a whole is refused.
        if (budget.ran_out()) return problem{over_budget_message(), ""};
        needed = budget.used();
    }
    // Valid payloads take the fast path above (it stops at the first failed constraint);
    // only a refused one is checked again to say where.
    valijson::ValidationResults results;
    pattern_check_scope patterns;
    subschema_budget_scope budget(std::min(2 * needed + 1000, locating_budget));
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
    if (auto p = depth_problem(schema)) return std::unexpected(*p);
    // Compiled on a stack sized for the deepest nesting depth_problem lets through (about
    // 1 KiB of stack per level in a release build, 8 KiB under AddressSanitizer), not on the
    // caller's, which may be smaller.
    constexpr std::size_t compile_stack_bytes = std::size_t{64} * 1024 * 1024;
    std::expected<std::shared_ptr<const compiled_schema>, problem> result;
    auto compile_here = [&schema, &result] {
        try {
            valijson::Validator meta_validator;
            if (auto p = first_error(metaschema(), schema, meta_validator)) {
                result = std::unexpected(
                    problem{"not a valid JSON Schema (draft 7): " + p->message, p->pointer});
                return;
            }
            auto out = std::make_unique<impl>();
            out->source = schema;
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
    try {
        return first_error(impl_->compiled, payload, validator);
    } catch (const std::exception& e) {
        return problem{std::string("the schema could not be applied: ") + e.what(), ""};
    }
}

}  // namespace prom::schema
