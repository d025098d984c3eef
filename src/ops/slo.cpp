#include "ops/slo.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "auth/auth_policy.hpp"
#include "core/topic_name.hpp"

namespace prom::ops {

namespace {

constexpr std::int64_t max_for_seconds = 10LL * 366 * 24 * 3600;

bool valid_rule_name(std::string_view n) {
    if (n.empty() || n.size() > 100) return false;
    for (char c : n) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        if (!ok) return false;
    }
    return true;
}

std::string fmt(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

// What a rule's latest event in the alarms' topic says.
struct last_alarm {
    std::int64_t episode = 0;
    bool firing = false;
    std::string reason;
    json::value topic, group;  // the rule's patterns when it was written
};

last_alarm read_last_alarm(const event& e) {
    last_alarm out;
    if (!e.payload.is_object()) return out;
    const auto& p = e.payload.get_object();
    if (auto v = p.find("episode"); v != p.end() && v->value().is_int64()) {
        out.episode = v->value().get_int64();
    }
    if (auto v = p.find("type"); v != p.end() && v->value().is_string()) {
        out.firing = v->value().get_string() == "alarm.fired";
    }
    if (auto v = p.find("reason"); v != p.end() && v->value().is_string()) {
        out.reason = v->value().get_string();
    }
    if (auto v = p.find("topic"); v != p.end()) out.topic = v->value();
    if (auto v = p.find("group"); v != p.end()) out.group = v->value();
    return out;
}

// Appends one alarm event; its id is the same on every node, so the log keeps one of each.
status append_alarm(store& s, std::string_view rule, std::string_view type, std::int64_t episode,
                    std::string_view reason, json::object extra, ts_ms now) {
    json::object payload{{"type", type}, {"rule", rule}, {"episode", episode}, {"reason", reason}};
    for (auto& kv : extra) payload[kv.key()] = std::move(kv.value());
    event_input in{.topic = std::string(alerts_topic),
                   .id = "alarm:" + std::string(rule) + ":" + std::to_string(episode) + ":" +
                         std::string(type.substr(6)),
                   .key = std::string(rule),
                   .ts = now,
                   .payload = std::move(payload),
                   .headers = {{std::string(alarm_header), "1"}}};
    std::vector<event_input> one;
    one.push_back(std::move(in));
    auto a = s.append(std::move(one));
    if (!a) return std::unexpected(a.error());
    return {};
}

}  // namespace

result<std::vector<slo_rule>> parse_slo_rules(const json::value& v) {
    if (!v.is_array())
        return fail(errc::invalid_argument, "config: 'slo' must be an array of rules");
    std::vector<slo_rule> out;
    std::set<std::string> names;
    std::size_t i = 0;
    for (const auto& item : v.get_array()) {
        const std::string where = "config: slo[" + std::to_string(i++) + "]";
        if (!item.is_object()) return fail(errc::invalid_argument, where + " must be an object");
        slo_rule r;
        auto number = [&](std::string_view k, const json::value& x) -> result<double> {
            if (!x.is_number()) {
                return fail(errc::invalid_argument,
                            where + "." + std::string(k) + " must be a number");
            }
            double d = x.to_number<double>();
            if (!std::isfinite(d) || d < 0) {
                return fail(errc::invalid_argument,
                            where + "." + std::string(k) + " must not be negative");
            }
            return d;
        };
        for (const auto& kv : item.get_object()) {
            std::string_view k = kv.key();
            const auto& x = kv.value();
            if (k == "name" || k == "topic" || k == "group") {
                if (!x.is_string() || x.get_string().empty()) {
                    return fail(errc::invalid_argument,
                                where + "." + std::string(k) + " must be a non-empty string");
                }
                std::string s(x.get_string());
                // A '*' elsewhere than at the end would match nothing, silently: the rule
                // would never fire (tokens and retention refuse the same patterns).
                if (k != "name" && !auth::well_formed_pattern(s)) {
                    std::string message = where;
                    message += ".";
                    message += k;
                    message += ": '*' may only end a pattern: ";
                    message += s;
                    return fail(errc::invalid_argument, message);
                }
                if (k == "topic" && !topic_pattern_can_match(s)) {
                    std::string message = where;
                    message += ".topic: '";
                    message += s;
                    message +=
                        "' matches no topic: a topic name (A-Z a-z 0-9 . _ - :), a prefix "
                        "ending in '*' (\"order.*\"), or '*'";
                    return fail(errc::invalid_argument, message);
                }
                (k == "name" ? r.name : k == "topic" ? r.topic : r.group) = std::move(s);
            } else if (k == "max_lag_seconds") {
                auto d = number(k, x);
                if (!d) return std::unexpected(d.error());
                r.max_lag_seconds = *d;
            } else if (k == "max_error_rate") {
                auto d = number(k, x);
                if (!d) return std::unexpected(d.error());
                if (*d > 1) {
                    return fail(errc::invalid_argument, where + ".max_error_rate is at most 1");
                }
                r.max_error_rate = *d;
            } else if (k == "max_lag_events" || k == "for_seconds") {
                if (!x.is_int64() && !x.is_uint64()) {
                    return fail(errc::invalid_argument,
                                where + "." + std::string(k) + " must be an integer");
                }
                if (x.is_int64() && x.get_int64() < 0) {
                    return fail(errc::invalid_argument,
                                where + "." + std::string(k) + " must not be negative");
                }
                auto n = x.is_int64() ? x.get_int64()
                                      : static_cast<std::int64_t>(
                                            std::min<std::uint64_t>(x.get_uint64(), INT64_MAX));
                // for_seconds is counted in milliseconds: a larger value would overflow and
                // fire at once.
                if (k == "for_seconds" && n > max_for_seconds) {
                    return fail(errc::invalid_argument, where + ".for_seconds is at most " +
                                                            std::to_string(max_for_seconds) +
                                                            " (ten years)");
                }
                (k == "for_seconds" ? r.for_seconds : r.max_lag_events.emplace()) = n;
            } else {
                return fail(errc::invalid_argument,
                            where + ": unknown field '" + std::string(k) +
                                "' (name, topic, group, max_lag_seconds, max_lag_events, "
                                "max_error_rate, for_seconds)");
            }
        }
        if (!valid_rule_name(r.name)) {
            return fail(errc::invalid_argument, where + ".name is required: [A-Za-z0-9_.-]{1,100}");
        }
        if (!names.insert(r.name).second) {
            return fail(errc::invalid_argument, where + ": a second rule named '" + r.name + "'");
        }
        if (!r.max_lag_seconds && !r.max_lag_events && !r.max_error_rate) {
            return fail(errc::invalid_argument,
                        where + " ('" + r.name +
                            "') sets no threshold (max_lag_seconds, max_lag_events, "
                            "max_error_rate)");
        }
        out.push_back(std::move(r));
    }
    return out;
}

slo_monitor::slo_monitor(store& s, std::vector<slo_rule> rules, counts_source counts)
    : store_(s), rules_(std::move(rules)), counts_(std::move(counts)) {}

std::optional<slo_monitor::breaching> slo_monitor::breach(const slo_rule& r, rule_state& st,
                                                          const std::vector<group_info>& groups,
                                                          bool& judged) {
    judged = true;
    bool rate_known = !r.max_error_rate;
    std::optional<breaching> why;
    for (const auto& g : groups) {
        if (!auth::pattern_matches(r.topic, g.topic) || !auth::pattern_matches(r.group, g.group)) {
            continue;
        }
        // Replays and alerts are not consumers an SLO watches unless named.
        const std::string at = g.topic + "/" + g.group;
        if (!why && r.max_lag_events && g.lag_events > *r.max_lag_events) {
            why = breaching{at + ": lag " + std::to_string(g.lag_events) + " events > " +
                                std::to_string(*r.max_lag_events),
                            g.topic, g.group};
        }
        if (!why && r.max_lag_seconds && g.lag_seconds > *r.max_lag_seconds) {
            why = breaching{
                at + ": lag " + fmt(g.lag_seconds) + " s > " + fmt(*r.max_lag_seconds) + " s",
                g.topic, g.group};
        }
        if (r.max_error_rate && counts_) {
            auto c = counts_(g.topic, g.group);
            if (!c) continue;
            rate_known = true;
            auto key = std::make_pair(g.topic, g.group);
            auto prev = st.last_counts.find(key);
            if (prev != st.last_counts.end()) {
                auto applied = c->applied - std::min(c->applied, prev->second.applied);
                auto errors = c->errors - std::min(c->errors, prev->second.errors);
                double rate = applied + errors == 0 ? 0
                                                    : static_cast<double>(errors) /
                                                          static_cast<double>(applied + errors);
                if (!why && rate > *r.max_error_rate) {
                    why =
                        breaching{at + ": error rate " + fmt(rate) + " > " + fmt(*r.max_error_rate),
                                  g.topic, g.group};
                }
            }
            st.last_counts[key] = *c;
        }
    }
    if (!why && !rate_known) judged = false;
    return why;
}

status slo_monitor::evaluate(ts_ms now) {
    std::lock_guard eval(eval_mu_);
    auto groups = rules_.empty() ? result<std::vector<group_info>>{} : list_groups(store_, now);
    if (!groups) return std::unexpected(groups.error());
    // The latest alarm event of each rule (the topic's key) says whether it is firing, on
    // every node alike. One read for all rules: the topic has one key per rule.
    auto latest = store_.latest_per_key(alerts_topic);
    if (!latest) return std::unexpected(latest.error());
    std::map<std::string, const event*, std::less<>> last_by_rule;
    for (const auto& e : *latest) last_by_rule[e.key] = &e;
    std::vector<alarm> firing;
    for (const auto& r : rules_) {
        auto& st = state_[r.name];
        bool judged = true;
        auto why = breach(r, st, *groups, judged);
        auto found = last_by_rule.find(r.name);
        const event* last = found == last_by_rule.end() ? nullptr : found->second;
        const auto was = last ? read_last_alarm(*last) : last_alarm{};
        const std::int64_t episode = was.episode;
        bool is_firing = was.firing;
        alarm current{.rule = r.name, .reason = was.reason};
        if (last) current.since = last->ts;
        auto raise = [&](std::string_view type, std::int64_t ep, const std::string& reason,
                         const breaching* by) {
            json::object extra{{"topic", r.topic}, {"group", r.group}};
            // `topic` and `group` are the rule's patterns; a pager wants the consumer that
            // tripped it as data, not only inside `reason` (found from outside).
            if (by) extra["breached"] = json::object{{"topic", by->topic}, {"group", by->group}};
            return append_alarm(store_, r.name, type, ep, reason, std::move(extra), now);
        };
        if (why) {
            if (!st.breached_since) st.breached_since = now;
            if (!is_firing && now - *st.breached_since >= r.for_seconds * 1000) {
                if (auto ok = raise("alarm.fired", episode + 1, why->reason, &*why); !ok) {
                    return ok;
                }
                is_firing = true;
                current = {
                    .rule = r.name, .episode = episode + 1, .reason = why->reason, .since = now};
            }
        } else {
            st.breached_since.reset();
            // A node that cannot tell the error rate (it runs none of the rule's groups) still
            // resolves an alarm that fired on lag once the lag is gone (found from outside:
            // a rule with both thresholds stayed firing).
            const bool fired_on_rate = current.reason.find(": error rate ") != std::string::npos;
            if (is_firing && (judged || !fired_on_rate)) {
                if (auto ok = raise("alarm.resolved", episode, "cleared", nullptr); !ok) return ok;
                is_firing = false;
            }
        }
        if (is_firing) {
            if (current.episode == 0) current.episode = episode;
            firing.push_back(std::move(current));
        }
    }
    // An alarm whose rule is gone from the config would stay open for ever: resolved here
    // (found from outside). Every node should run the same rules: a node resolves the open
    // alarms of rules it does not have.
    for (const auto& [rule, last] : last_by_rule) {
        if (std::ranges::find(rules_, rule, &slo_rule::name) != rules_.end()) continue;
        const auto was = read_last_alarm(*last);
        if (!was.firing) continue;
        if (auto ok = append_alarm(store_, rule, "alarm.resolved", was.episode,
                                   "the rule is no longer configured",
                                   json::object{{"topic", was.topic}, {"group", was.group}}, now);
            !ok) {
            return ok;
        }
    }
    std::lock_guard lock(active_mu_);
    active_ = std::move(firing);
    return {};
}

std::vector<alarm> slo_monitor::active() const {
    std::lock_guard lock(active_mu_);
    return active_;
}

void slo_monitor::append_metrics(std::string& out) const {
    if (rules_.empty()) return;  // a node without rules has no such gauge
    auto firing = active();
    out += "# HELP prom_slo_alarm 1 while the SLO rule's alarm is firing.\n";
    out += "# TYPE prom_slo_alarm gauge\n";
    for (const auto& r : rules_) {
        bool on = false;
        for (const auto& a : firing) on = on || a.rule == r.name;
        out += "prom_slo_alarm{rule=\"" + r.name + "\"} ";
        out += on ? '1' : '0';
        out += '\n';
    }
}

}  // namespace prom::ops
