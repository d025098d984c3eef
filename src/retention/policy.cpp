// Retention policies (docs/retention.md): parsing, matching topics, and their storage in
// the collection `_prom.topic_policies`.
#include <algorithm>
#include <charconv>
#include <limits>

#include "core/json_int.hpp"
#include "core/topic_name.hpp"
#include "ops/alerts_topic.hpp"
#include "prom/user_projector.hpp"
#include "retention/retention.hpp"

namespace prom::retention {

namespace {

using std::chrono::milliseconds;

struct unit {
    std::string_view suffix;
    std::int64_t ms;
};
// Longest suffix first, so that "250ms" is read as milliseconds, not as minutes + "s".
constexpr unit units[] = {
    {"ms", 1}, {"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}};

std::unexpected<error> bad(std::string message) {
    return fail(errc::invalid_argument, std::move(message));
}

result<std::int64_t> positive_integer(const json::value& v, std::string_view what) {
    if (auto n = int64_of(v); n && *n > 0) return *n;
    return bad(std::string(what) + " must be a whole number greater than 0");
}

// "7d": the unit that divides it exactly, the largest first; whole milliseconds otherwise.
std::string format_duration(milliseconds d) {
    for (std::int64_t m : {std::int64_t{86'400'000}, std::int64_t{3'600'000}, std::int64_t{60'000},
                           std::int64_t{1'000}}) {
        if (d.count() % m == 0) {
            const auto* u = std::ranges::find(units, m, &unit::ms);
            return std::to_string(d.count() / m) + std::string(u->suffix);
        }
    }
    return std::to_string(d.count()) + "ms";
}

// The members of a stored document that are not the policy's (src/docs: `_key`, `_ts`).
bool document_member(std::string_view k) { return k == "_key" || k == "_ts"; }

result<std::optional<policy>> policy_of(const document& d) {
    auto v = parse_stored_json(d.body);
    if (!v || !v->is_object()) {
        return fail(errc::corrupt, "the stored policy of '" + d.key + "' does not parse");
    }
    json::object o;
    for (const auto& kv : v->get_object()) {
        if (!document_member(kv.key())) o[kv.key()] = kv.value();
    }
    auto p = parse_policy(d.key, o);
    if (!p) {
        return fail(errc::corrupt,
                    "the stored policy of '" + d.key + "' is invalid: " + p.error().message);
    }
    return std::optional<policy>(std::move(*p));
}

}  // namespace

result<milliseconds> parse_duration(const json::value& v) {
    constexpr std::string_view form =
        "a duration is a string like \"7d\", \"12h\", \"30m\", \"45s\", \"250ms\" or a whole "
        "number of milliseconds, greater than 0";
    if (v.is_int64() || v.is_uint64()) {
        if (v.is_int64() && v.get_int64() <= 0) {
            return bad("duration " + std::to_string(v.get_int64()) + ": " + std::string(form));
        }
        if (v.is_uint64() && v.get_uint64() > static_cast<std::uint64_t>(INT64_MAX)) {
            return bad("duration too large");
        }
        return milliseconds(v.is_int64() ? v.get_int64()
                                         : static_cast<std::int64_t>(v.get_uint64()));
    }
    if (!v.is_string()) return bad(std::string(form));
    std::string_view text = v.get_string();
    auto quoted = [&] { return "duration \"" + std::string(text) + "\": "; };
    for (const auto& u : units) {
        if (!text.ends_with(u.suffix)) continue;
        std::string_view digits = text.substr(0, text.size() - u.suffix.size());
        if (digits.empty() ||
            !std::ranges::all_of(digits, [](char c) { return c >= '0' && c <= '9'; })) {
            return bad(quoted() + std::string(form));
        }
        std::int64_t n = 0;
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
        if (ec != std::errc() || end != digits.data() + digits.size() ||
            n > std::numeric_limits<std::int64_t>::max() / u.ms) {
            return bad(quoted() + "too large");
        }
        if (n == 0) return bad(quoted() + "must be greater than 0");
        return milliseconds(n * u.ms);
    }
    return bad(quoted() + std::string(form));
}

status check_policy_pattern(std::string_view pattern) {
    if (pattern.empty()) return bad("the topic pattern is empty");
    if (pattern.size() > max_topic_bytes) return bad("the topic pattern is longer than 200 bytes");
    if (!topic_pattern_can_match(pattern)) {
        return bad("topic pattern '" + std::string(pattern) +
                   "' is a topic name (A-Z a-z 0-9 . _ - :) or a prefix ending in '*' "
                   "(\"order.*\")");
    }
    return {};
}

namespace {

result<retain_rule> parse_retain(const json::value& v) {
    if (!v.is_object())
        return bad("\"retain\" must be an object with \"max_age\" and/or \"max_events\"");
    retain_rule r;
    for (const auto& kv : v.get_object()) {
        if (kv.key() == "max_age") {
            auto d = parse_duration(kv.value());
            if (!d) return bad("\"retain.max_age\": " + d.error().message);
            r.max_age = *d;
        } else if (kv.key() == "max_events") {
            auto n = positive_integer(kv.value(), "\"retain.max_events\"");
            if (!n) return std::unexpected(n.error());
            r.max_events = *n;
        } else {
            return bad("unknown key \"retain." + std::string(kv.key()) +
                       "\" (\"retain\" takes \"max_age\" and \"max_events\")");
        }
    }
    if (!r.max_age && !r.max_events) {
        return bad("\"retain\" needs \"max_age\" and/or \"max_events\"");
    }
    return r;
}

result<compact_rule> parse_compact(const json::value& v) {
    if (!v.is_object()) return bad("\"compact\" must be an object with \"horizon\"");
    std::optional<milliseconds> horizon;
    for (const auto& kv : v.get_object()) {
        if (kv.key() == "horizon") {
            auto d = parse_duration(kv.value());
            if (!d) return bad("\"compact.horizon\": " + d.error().message);
            horizon = *d;
        } else {
            return bad("unknown key \"compact." + std::string(kv.key()) +
                       "\" (\"compact\" takes \"horizon\")");
        }
    }
    if (!horizon) return bad("\"compact\" needs \"horizon\"");
    return compact_rule{*horizon};
}

}  // namespace

result<policy> parse_policy(std::string_view pattern, const json::value& body) {
    if (auto ok = check_policy_pattern(pattern); !ok) return std::unexpected(ok.error());
    if (!body.is_object()) return bad("a policy is a JSON object");
    policy p;
    p.pattern = std::string(pattern);
    for (const auto& kv : body.get_object()) {
        const auto& v = kv.value();
        if (kv.key() == "retain") {
            auto r = parse_retain(v);
            if (!r) return std::unexpected(r.error());
            p.retain = *r;
        } else if (kv.key() == "compact") {
            auto c = parse_compact(v);
            if (!c) return std::unexpected(c.error());
            p.compact = *c;
        } else if (kv.key() == "behind") {
            if (v.is_string() && v.get_string() == "skip") {
                p.behind = behind_policy::skip;
            } else if (v.is_string() && v.get_string() == "wait") {
                p.behind = behind_policy::wait;
            } else {
                return bad("\"behind\" must be \"skip\" or \"wait\"");
            }
        } else if (kv.key() == "topic") {
            // What to_json and GET answer, sent back as it is: allowed when it names the
            // same pattern.
            if (!v.is_string() || v.get_string() != pattern) {
                return bad("\"topic\" in the body must be the pattern of the path ('" +
                           std::string(pattern) + "')");
            }
        } else {
            return bad("unknown key \"" + std::string(kv.key()) +
                       "\" (a policy takes \"retain\", \"compact\" and \"behind\")");
        }
    }
    if (!p.retain && !p.compact) return bad("a policy needs \"retain\" and/or \"compact\"");
    return p;
}

json::object to_json(const policy& p) {
    json::object o;
    o["topic"] = p.pattern;
    o["behind"] = p.behind == behind_policy::skip ? "skip" : "wait";
    if (p.retain) {
        json::object r;
        if (p.retain->max_age) r["max_age"] = format_duration(*p.retain->max_age);
        if (p.retain->max_events) r["max_events"] = *p.retain->max_events;
        o["retain"] = std::move(r);
    }
    if (p.compact) o["compact"] = json::object{{"horizon", format_duration(p.compact->horizon)}};
    return o;
}

bool matches(std::string_view pattern, std::string_view topic) {
    // The projectors' rule: exact, or a prefix before '*' that never takes in NAME.dlq; and
    // never the alarms' topic (check_retention_applies).
    return topic != ops::alerts_topic && topic_matches(pattern, topic);
}

status check_retention_applies(std::string_view pattern_or_topic) {
    if (pattern_or_topic != ops::alerts_topic) return {};
    return bad(ops::alerts_topic_refusal() +
               ": no retention policy or pass applies to it (an open alarm's event must stay "
               "in the log)");
}

std::optional<policy> policy_for(const std::vector<policy>& policies, std::string_view topic) {
    if (topic == ops::alerts_topic) return std::nullopt;  // check_retention_applies
    const policy* best = nullptr;
    for (const auto& p : policies) {
        if (p.pattern == topic) return p;
        // A pattern has its own policy or none: `order.p*` is not governed by `order.*`'s
        // (its GET answered that policy, and its DELETE then found none).
        if (topic.ends_with('*')) continue;
        if (!p.pattern.ends_with('*') || !matches(p.pattern, topic)) continue;
        if (!best || p.pattern.size() > best->pattern.size()) best = &p;
    }
    if (!best) return std::nullopt;
    return *best;
}

result<std::vector<policy>> load_policies(store& s) {
    std::vector<policy> out;
    find_query q;
    q.collection = std::string(policy_collection);
    q.limit = 1000;
    for (;;) {
        auto page = find_fitting(s, q);
        if (!page) return std::unexpected(page.error());
        for (const auto& d : *page) {
            auto p = policy_of(d);
            if (!p) return std::unexpected(p.error());
            if (*p) out.push_back(std::move(**p));
        }
        if (page->size() < q.limit) break;
        q.offset += page->size();
    }
    std::ranges::sort(out, {}, &policy::pattern);
    return out;
}

namespace {

// errc::precondition_failed when the stored policy (or its absence) does not meet `c`.
status check_condition(std::string_view pattern, policy_condition c, bool exists) {
    if (c.must_exist && !exists) {
        return fail(errc::precondition_failed,
                    "'" + std::string(pattern) + "' has no policy (If-Match)");
    }
    if (c.names_a_tag) {
        return fail(errc::precondition_failed,
                    "a policy has no entity tag: If-Match holds only as *, while '" +
                        std::string(pattern) + "' has a policy");
    }
    if (c.must_be_absent && exists) {
        return fail(errc::precondition_failed,
                    "'" + std::string(pattern) + "' has a policy (If-None-Match: *)");
    }
    return {};
}

}  // namespace

status put_policy(store& s, const policy& p, policy_condition c) {
    if (auto ok = check_policy_pattern(p.pattern); !ok) return ok;
    if (auto ok = check_retention_applies(p.pattern); !ok) return ok;
    auto txn = s.begin();
    if (!txn) return std::unexpected(txn.error());
    if (c.must_exist || c.must_be_absent || c.names_a_tag) {
        auto stored = (*txn)->find_one(policy_collection, p.pattern);
        if (!stored) return std::unexpected(stored.error());
        if (auto ok = check_condition(p.pattern, c, stored->has_value()); !ok) return ok;
    }
    if (c.must_be_absent) {
        // Create-only: on PostgreSQL a concurrent transaction's create counts once it
        // commits (transaction::create_one), so of two at once one fails.
        auto made = (*txn)->create_one(policy_collection, p.pattern, to_json(p));
        if (!made && made.error().code == errc::conflict) {
            return fail(errc::precondition_failed,
                        "'" + p.pattern + "' has a policy (If-None-Match: *)");
        }
        if (!made) return made;
    } else {
        auto d = (*txn)->update_one(policy_collection, p.pattern, to_json(p), true);
        if (!d) return std::unexpected(d.error());
    }
    return (*txn)->commit();
}

result<bool> delete_policy(store& s, std::string_view pattern, policy_condition c) {
    if (auto ok = check_policy_pattern(pattern); !ok) return std::unexpected(ok.error());
    auto txn = s.begin();
    if (!txn) return std::unexpected(txn.error());
    // Without a policy a DELETE finds nothing, whatever it asks (RFC 9110 13.2.1).
    if (c.must_exist || c.must_be_absent || c.names_a_tag) {
        auto stored = (*txn)->find_one(policy_collection, pattern);
        if (!stored) return std::unexpected(stored.error());
        if (!stored->has_value()) return false;
        if (auto ok = check_condition(pattern, c, true); !ok) return std::unexpected(ok.error());
    }
    auto gone = (*txn)->delete_one(policy_collection, pattern);
    if (!gone) return std::unexpected(gone.error());
    if (auto ok = (*txn)->commit(); !ok) return std::unexpected(ok.error());
    return *gone;
}

}  // namespace prom::retention
