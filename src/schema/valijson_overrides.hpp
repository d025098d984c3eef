// valijson's checks that prom replaces for the one adapter it uses, and the budget of one
// check (docs/schemas.md, "Patterns", "uniqueItems", "Bounded work"): explicit
// specializations of valijson's visitor. Included by json_schema.cpp only, before anything
// there instantiates the visitor.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

// As in json_schema.cpp: valijson throws instead of aborting.
#ifndef VALIJSON_USE_EXCEPTIONS
#define VALIJSON_USE_EXCEPTIONS 1
#endif
#include <valijson/adapters/boost_json_adapter.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validation_visitor.hpp>

#include "schema/schema_regex.hpp"

namespace prom::schema::check_budget {

// How many subschemas one check of one value may apply (docs/schemas.md, "Bounded work"):
// a base, and more for each value (member, item) in it. anyOf/oneOf over references fan out,
// and each level of a payload can multiply them:
// {"allOf":[{"items":{"$ref":"#"}},{"items":{"$ref":"#"}}]} applies 2^depth subschemas to a
// payload of nested arrays, so a small schema and a small payload kept a network thread busy
// for good. Past the budget the value is refused, as a pattern too costly to match is.
inline constexpr std::uint64_t base_budget = 100'000;
inline constexpr std::uint64_t budget_per_value = 20;

// The values in `v`, itself included (payloads are at most 64 levels deep).
inline std::uint64_t values_in(const boost::json::value& v) {
    std::uint64_t n = 1;
    if (v.is_array()) {
        for (const auto& item : v.get_array()) n += values_in(item);
    } else if (v.is_object()) {
        for (const auto& member : v.get_object()) n += values_in(member.value());
    }
    return n;
}

// The second check of a refused value, which records where it fails, keeps every failure it
// meets (about 350 bytes each): its budget is what the first check needed, with room, and at
// most this.
inline constexpr std::uint64_t locating_budget = 50'000;

inline std::string over_budget_message(std::uint64_t budget) {
    return "checking the value needs more than " + std::to_string(budget) +
           " subschema checks; prom stops there";
}

struct subschema_steps {
    bool counting = false;
    bool ran_out = false;
    std::uint64_t left = 0;
    std::uint64_t budget = 0;  // named in a refusal
    // The checked value, until the base budget is spent: only then are its values counted
    // (budget_per_value more each), so that an ordinary check never walks it.
    const boost::json::value* to_count = nullptr;
};
inline thread_local subschema_steps steps;

// One check of `value` on this thread: base_budget subschemas, and budget_per_value more per
// value in it once the base is spent; or, with `locating`, at most that many.
class scope {
  public:
    explicit scope(const boost::json::value& value) {
        steps = {.counting = true, .left = base_budget, .budget = base_budget, .to_count = &value};
    }
    scope(std::uint64_t locating, std::uint64_t named_budget) {
        steps = {.counting = true, .left = locating, .budget = named_budget};
    }
    ~scope() { steps.counting = false; }
    scope(const scope&) = delete;
    scope& operator=(const scope&) = delete;

    bool ran_out() const { return steps.ran_out; }
    std::uint64_t budget() const { return steps.budget; }
    std::uint64_t used() const { return steps.budget - steps.left; }
};

// One more subschema to apply: false once the budget is spent.
inline bool take_step() {
    if (!steps.counting) return true;
    if (steps.left == 0 && steps.to_count) {
        const auto more = budget_per_value * values_in(*steps.to_count);
        steps.left += more;
        steps.budget += more;
        steps.to_count = nullptr;
    }
    if (steps.left == 0) return false;
    --steps.left;
    return true;
}

}  // namespace prom::schema::check_budget

namespace valijson {

using prom_visitor = ValidationVisitor<adapters::BoostJsonAdapter>;
using prom::schema::pattern_match;

namespace prom_overrides {

// pattern and patternProperties: Boost.Regex with a bound on backtracking (schema_regex.hpp)
// instead of std::regex, which can take exponential time or overflow the stack. Not knowing
// whether a string matches refuses the value, whatever matching would have decided.
inline pattern_match search(const std::string& pattern, const std::string& text,
                            ValidationResults* results, const std::vector<std::string>& context) {
    auto found = prom::schema::search_pattern(pattern, text);
    if (found == pattern_match::too_complex && results) {
        results->pushError(context, "Matching the pattern '" + pattern +
                                        "' needs more backtracking than prom allows.");
    }
    return found;
}

}  // namespace prom_overrides

// valijson's validateSchema, counting each subschema applied against the budget above.
template <>
inline bool prom_visitor::validateSchema(const Subschema& subschema) {
    namespace budget = prom::schema::check_budget;
    if (!budget::take_step()) {
        if (m_results && !budget::steps.ran_out) {
            m_results->pushError(m_context, budget::over_budget_message(budget::steps.budget));
        }
        budget::steps.ran_out = true;
        return false;
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
inline bool prom_visitor::visit(const constraints::PatternConstraint& constraint) {
    if ((m_strictTypes && !m_target.isString()) || !m_target.maybeString()) return true;
    std::string pattern(constraint.getPattern<std::string::allocator_type>());
    auto found = prom_overrides::search(pattern, m_target.asString(), m_results, m_context);
    if (found == pattern_match::found) return true;
    if (found == pattern_match::not_found && m_results) {
        m_results->pushError(m_context, "Failed to match regex specified by 'pattern' constraint.");
    }
    return false;
}

namespace prom_overrides {

// multipleOf (docs/schemas.md, "multipleOf"): the quotient is a whole number, within 1e-9 of
// it relative to its size, as the TypeScript client's is() checks it (ts_runtime.cpp).
// valijson's own check compared the remainder with the double's epsilon, so 19.99 was not a
// multiple of 0.01, and for a whole divisor it truncated a fraction, so 10.5 was one of 5.
inline bool is_multiple(double value, double divisor) {
    if (value == 0) return true;
    const double q = value / divisor;
    if (!std::isfinite(q)) return false;
    return std::fabs(q - std::round(q)) <= 1e-9 * std::max(1.0, std::fabs(q));
}

// A bound or divisor as the schema would write it ("100", "0.01", "1e-07"): the shortest text
// that reads back as the same double. valijson's messages used std::to_string, which prints
// six decimals ("100.000000") and shows a bound below 5e-7 as "0.000000".
inline std::string number_text(double d) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
    return ec == std::errc{} ? std::string(buf, end) : std::to_string(d);
}

template <class Target>
inline std::optional<double> number_of(const Target& target) {
    double d = 0;
    if (target.maybeDouble() && target.asDouble(d)) return d;
    std::int64_t i = 0;
    if (target.maybeInteger() && target.asInteger(i)) return static_cast<double>(i);
    return std::nullopt;
}

}  // namespace prom_overrides

template <>
inline bool prom_visitor::visit(const constraints::MultipleOfDoubleConstraint& constraint) {
    // Numbers only, as maximum: "3" (a string, or a property name) is not a number, though
    // valijson's maybeDouble() reads it as one (found from outside: "3" was refused).
    if (m_strictTypes && !m_target.isNumber()) return true;
    if (!m_target.maybeDouble() && !m_target.maybeInteger()) return true;
    const double divisor = constraint.getDivisor();
    auto d = prom_overrides::number_of(m_target);
    if (d && prom_overrides::is_multiple(*d, divisor)) return true;
    if (m_results) {
        m_results->pushError(
            m_context, "Value should be a multiple of " + prom_overrides::number_text(divisor));
    }
    return false;
}

namespace prom_overrides {

// maximum (`upper`) and minimum: valijson's comparisons, with the bound written in the
// refusal as the schema has it.
inline bool within_bound(double value, double bound, bool exclusive, bool upper,
                         ValidationResults* results, const std::vector<std::string>& context) {
    const bool ok = upper ? (exclusive ? value < bound : value <= bound)
                          : (exclusive ? value > bound : value >= bound);
    if (!ok && results) {
        results->pushError(context, std::string("Expected number ") +
                                        (upper ? "less than " : "greater than ") +
                                        (exclusive ? "" : "or equal to ") + number_text(bound));
    }
    return ok;
}

}  // namespace prom_overrides

template <>
inline bool prom_visitor::visit(const constraints::MaximumConstraint& constraint) {
    if ((m_strictTypes && !m_target.isNumber()) || !m_target.maybeDouble()) return true;
    return prom_overrides::within_bound(m_target.asDouble(), constraint.getMaximum(),
                                        constraint.getExclusiveMaximum(), true, m_results,
                                        m_context);
}

template <>
inline bool prom_visitor::visit(const constraints::MinimumConstraint& constraint) {
    if ((m_strictTypes && !m_target.isNumber()) || !m_target.maybeDouble()) return true;
    return prom_overrides::within_bound(m_target.asDouble(), constraint.getMinimum(),
                                        constraint.getExclusiveMinimum(), false, m_results,
                                        m_context);
}

template <>
inline bool prom_visitor::visit(const constraints::MultipleOfIntConstraint& constraint) {
    const std::int64_t divisor = constraint.getDivisor();
    bool ok = false;
    std::int64_t i = 0;
    if (m_strictTypes && !m_target.isNumber()) {
        return true;  // as for a double divisor
    } else if (m_target.isInteger() && m_target.asInteger(i)) {
        ok = divisor > 0 && i % divisor == 0;  // exact; the metaschema keeps divisors above 0
    } else if (m_target.maybeDouble() || m_target.maybeInteger()) {
        auto d = prom_overrides::number_of(m_target);
        ok = d && prom_overrides::is_multiple(*d, static_cast<double>(divisor));
    } else {
        return true;
    }
    if (!ok && m_results) {
        m_results->pushError(m_context, "Value should be a multiple of " + std::to_string(divisor));
    }
    return ok;
}

// `format` is an annotation in prom (docs/schemas.md): valijson 1.0 checks three formats with
// std::regex, and applied to a value that is not a string it throws.
template <>
inline bool prom_visitor::visit(const constraints::FormatConstraint& /*constraint*/) {
    return true;
}

namespace prom_overrides {

// A key per value such that two values are equal by valijson's strict comparison exactly when
// their keys are: numbers by their double value (1 and 1.0 alike, 0 and -0.0 alike), objects
// whatever the order of their members, strings and names length-prefixed.
inline void append_equality_key(std::string& out, const adapters::BoostJsonAdapter& v) {
    if (v.isNull()) {
        out += 'n';
    } else if (v.isBool()) {
        out += v.asBool() ? 't' : 'f';
    } else if (v.isNumber()) {
        double d = v.isDouble() || v.isInteger() ? v.getNumber() : v.asDouble();
        char digits[32];
        if (v.isInteger() &&
            (d >= 9223372036854775808.0 || static_cast<std::int64_t>(d) != v.getInteger())) {
            // An integer no double holds (beyond 2^53): by its digits, or 12345678901234567
            // and 12345678901234568 were the same item (found from outside).
            auto [end, ec] = std::to_chars(digits, digits + sizeof digits, v.getInteger());
            out += 'i';
            out.append(digits, end);
            out += ';';
            return;
        }
        if (d == 0) d = 0;  // -0.0 == 0.0
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

}  // namespace prom_overrides

// uniqueItems: valijson compares every pair of items, which is quadratic (30,000 numbers in
// a 200 KB payload held a network thread for 4 s). Here each item's equality key goes into a
// hash set: one pass. The error names the first item equal to an earlier one.
template <>
inline bool prom_visitor::visit(const constraints::UniqueItemsConstraint& /*constraint*/) {
    if ((m_strictTypes && !m_target.isArray()) || !m_target.maybeArray()) return true;
    std::unordered_map<std::string, std::size_t> first_index;
    std::size_t index = 0;
    for (const auto& item : m_target.asArray()) {
        std::string key;
        prom_overrides::append_equality_key(key, item);
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

// propertyNames: each member name checked as a string by this visitor (valijson's checked it
// with another, whose `pattern` was std::regex, not the ECMAScript matching above), and a
// failure recorded at the object whose name it is (valijson recorded none, so the path named
// the object's parent; found from outside).
template <>
inline bool prom_visitor::visit(const constraints::PropertyNamesConstraint& constraint) {
    if ((m_strictTypes && !m_target.isObject()) || !m_target.maybeObject()) return true;
    for (const auto& m : m_target.asObject()) {
        const boost::json::value name(boost::json::string_view(m.first.data(), m.first.size()));
        adapters::BoostJsonAdapter as_string(name);
        prom_visitor validator(as_string, m_context, m_strictTypes, nullptr, m_regexesCache);
        if (validator.validateSchema(*constraint.getSubschema())) continue;
        if (m_results) {
            m_results->pushError(m_context, "The member name '" + m.first +
                                                "' does not match the propertyNames schema.");
        }
        return false;
    }
    return true;
}

// valijson's own loop over an object's members, with the pattern matched as above.
template <>
template <>
inline bool prom_visitor::ValidatePatternPropertySubschemas::operator()(
    const constraints::PropertiesConstraint::String& patternProperty,
    const Subschema* subschema) const {
    const std::string pattern(patternProperty.c_str());
    bool matchFound = false;
    for (const auto m : m_object) {
        auto found = prom_overrides::search(pattern, m.first, m_results, m_context);
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
