// The only file that includes Boost.Regex, so the bound below is the same wherever its
// matcher is instantiated.
#include "schema/schema_regex.hpp"

#include <chrono>
#include <exception>
#include <string>
#include <unordered_map>

#include "schema/ecmascript_pattern.hpp"

// Boost gives up on a match (throws) after visiting more states than the larger of N² and
// N·S² (N the text's length, S the expression's size), capped at this bound: 10^7 is tens of
// milliseconds of work per string, a tenth of Boost's default. A match that needs no
// backtracking visits about N states and stays far below it even for a long string.
#define BOOST_REGEX_MAX_STATE_COUNT 10000000
#include <boost/regex.hpp>

namespace prom::schema {

namespace {

// JSON Schema patterns are ECMA-262 expressions; Boost's perl syntax reads them, and
// no_mod_m keeps `^` and `$` at the ends of the text as in ECMAScript without the m flag.
const auto syntax = boost::regex::ECMAScript | boost::regex::no_mod_m;
const auto match_flags = boost::match_default | boost::match_not_dot_newline;

// A schema has few patterns and a server few schemas; the cap only stops a stream of
// distinct ones from growing the cache for ever.
constexpr std::size_t max_cached = 256;

// Matched as code points (ecmascript_pattern.hpp): a wide expression over UTF-32 text.
boost::wregex compile(std::string_view pattern) {
    return boost::wregex(boost_pattern(code_points(pattern)), syntax);
}

const boost::wregex* compiled(std::string_view pattern) {
    thread_local std::unordered_map<std::string, boost::wregex> cache;
    std::string key(pattern);
    if (auto it = cache.find(key); it != cache.end()) return &it->second;
    if (cache.size() >= max_cached) cache.clear();
    try {
        return &cache.emplace(key, compile(pattern)).first->second;
    } catch (const std::exception&) {
        return nullptr;
    }
}

// The check of the payload in progress on this thread (pattern_check_scope), if any.
struct check_state {
    bool active = false;
    bool exhausted = false;
    std::chrono::steady_clock::duration spent{};
};
thread_local check_state current;

constexpr auto max_matching_per_check = std::chrono::seconds(1);

}  // namespace

pattern_check_scope::pattern_check_scope() { current = check_state{.active = true}; }
pattern_check_scope::~pattern_check_scope() { current = check_state{}; }

std::optional<std::string> pattern_error(std::string_view pattern) {
    if (auto why = non_ecmascript_construct(pattern)) return why;
    try {
        (void)compile(pattern);
    } catch (const std::exception& e) {
        return std::string(e.what());
    }
    return std::nullopt;
}

pattern_match search_pattern(std::string_view pattern, std::string_view text) {
    if (current.exhausted) return pattern_match::too_complex;
    const boost::wregex* re = compiled(pattern);
    if (!re) return pattern_match::too_complex;
    const auto start = std::chrono::steady_clock::now();
    auto out = pattern_match::too_complex;
    try {
        const std::wstring wide = code_points(text);
        out = boost::regex_search(wide.begin(), wide.end(), *re, match_flags)
                  ? pattern_match::found
                  : pattern_match::not_found;
    } catch (const std::exception&) {
        // error_complexity (the bound) or error_stack (Boost's own memory for backtracking).
    }
    if (current.active) {
        current.spent += std::chrono::steady_clock::now() - start;
        if (out == pattern_match::too_complex || current.spent > max_matching_per_check) {
            current.exhausted = true;
        }
    }
    return out;
}

}  // namespace prom::schema
