// Retention policies (src/retention/policy.cpp, docs/retention.md): the strict parser of what
// `PUT /topics/{t}/policy`, `prom retention set` and the server's config file give,
// parse_policy(pattern, body), with its durations (parse_duration).
//
// The input is a topic pattern and a JSON text separated by a NUL byte (no NUL: the pattern
// is "fuzz.*"). The JSON is also read as a duration on its own.
//
// Properties checked besides the sanitizers:
// - a parsed policy renders (to_json, what GET answers) to a body that parses to the same
//   policy, and the rendered body is a fixed point (rendering it again gives the same JSON);
// - a policy stored with put_policy on a memory: store loads back the same (load_policies);
// - a parsed duration is > 0, and its number of milliseconds parses to the same duration.
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "prom/store.hpp"
#include "retention/retention.hpp"

namespace {

using namespace prom;

bool same(const retention::policy& a, const retention::policy& b) {
    auto retain_eq = [](const auto& x, const auto& y) {
        return x.has_value() == y.has_value() &&
               (!x || (x->max_age == y->max_age && x->max_events == y->max_events));
    };
    auto compact_eq = [](const auto& x, const auto& y) {
        return x.has_value() == y.has_value() && (!x || x->horizon == y->horizon);
    };
    return a.pattern == b.pattern && a.behind == b.behind && retain_eq(a.retain, b.retain) &&
           compact_eq(a.compact, b.compact);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text = fuzz::as_text(data, size);
    std::string_view pattern = "fuzz.*";
    if (auto nul = text.find('\0'); nul != std::string_view::npos) {
        pattern = text.substr(0, nul);
        text.remove_prefix(nul + 1);
    }
    auto body = parse_json(text);
    if (!body) return 0;

    if (auto d = retention::parse_duration(*body)) {
        fuzz::require(d->count() > 0);
        auto again = retention::parse_duration(json::value(d->count()));
        fuzz::require(again && *again == *d);
    }

    auto p = retention::parse_policy(pattern, *body);
    if (!p) return 0;
    fuzz::require(p->retain || p->compact);
    if (p->retain) {
        fuzz::require(p->retain->max_age || p->retain->max_events);
        fuzz::require(!p->retain->max_age || p->retain->max_age->count() > 0);
        fuzz::require(!p->retain->max_events || *p->retain->max_events > 0);
    }
    if (p->compact) fuzz::require(p->compact->horizon.count() > 0);

    // What GET answers, sent back with PUT, is the same policy.
    json::value rendered = retention::to_json(*p);
    auto reparsed = retention::parse_policy(pattern, rendered);
    fuzz::require(reparsed.has_value() && same(*p, *reparsed));
    fuzz::require(json::value(retention::to_json(*reparsed)) == rendered);
    // The same through the JSON text (what goes over the wire or into a config file).
    auto wire = parse_json(canonical_json(rendered));
    fuzz::require(wire.has_value());
    auto from_wire = retention::parse_policy(pattern, *wire);
    fuzz::require(from_wire.has_value() && same(*p, *from_wire));

    // Stored and loaded back (the policies collection every node reads), unless retention
    // cannot apply to the pattern (prom.alerts: put_policy refuses it, docs/retention.md).
    if (!retention::check_retention_applies(pattern)) return 0;
    auto opened = open_store("memory:");
    if (!opened) fuzz::property_failed();
    fuzz::require(retention::put_policy(**opened, *p).has_value());
    auto loaded = retention::load_policies(**opened);
    fuzz::require(loaded.has_value() && loaded->size() == 1 && same(loaded->front(), *p));
    auto chosen = retention::policy_for(*loaded, p->pattern);
    fuzz::require(chosen.has_value() && same(*chosen, *p));
    return 0;
}
