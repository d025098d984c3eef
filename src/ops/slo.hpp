// SLO rules and their alarms (docs/operations.md).
//
// A rule names groups (a topic or topic prefix pattern, a group or group prefix pattern)
// and thresholds: max_lag_seconds, max_lag_events, max_error_rate. It is breached while any
// of its groups exceeds any threshold; breached continuously for `for_seconds`, it fires:
// one event `alarm.fired` on topic `prom.alerts` (key = the rule's name); once it is no
// longer breached, one `alarm.resolved`. Event ids are `alarm:<rule>:<episode>:fired|resolved`
// where the episode counts the rule's alarms in the log, so several nodes evaluating the
// same rule append the same ids and the log keeps one of each.
//
// Whether a rule is firing is read from the log (its latest event on prom.alerts), so
// every node reports the same alarms in /metrics and /healthz.
//
// The monitor is driven from outside: evaluate() with the time to judge at, so tests pass
// their own clock; `prom serve` calls it once a second. Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ops/alerts_topic.hpp"
#include "ops/groups.hpp"
#include "prom/json.hpp"
#include "prom/store.hpp"

namespace prom::ops {

struct slo_rule {
    std::string name;
    std::string topic = "*";  // a topic, a prefix ending in '*', or '*'
    std::string group = "*";  // likewise
    std::optional<double> max_lag_seconds;
    std::optional<std::int64_t> max_lag_events;
    std::optional<double> max_error_rate;  // errors / (applied + errors) since the last check
    std::int64_t for_seconds = 0;
};

// The "slo" member of the serve config: an array of rules. Unknown fields, wrong types,
// negative thresholds, a rule without any threshold, duplicate or bad names are refused
// with invalid_argument naming the rule.
result<std::vector<slo_rule>> parse_slo_rules(const json::value& v);

// Cumulative (applied, errors) of a group's consumer on this node; none when it does not
// run here.
struct group_counts {
    std::uint64_t applied = 0;
    std::uint64_t errors = 0;
};
using counts_source =
    std::function<std::optional<group_counts>(std::string_view topic, std::string_view group)>;

struct alarm {
    std::string rule;
    std::int64_t episode = 0;
    std::string reason;  // from the fired event
    ts_ms since{};
};

class slo_monitor {
  public:
    // `counts` may be empty (no error rates known on this node). The store must outlive it.
    slo_monitor(store& s, std::vector<slo_rule> rules, counts_source counts = {});

    // Judges every rule at `now` (epoch ms); appends alarm events as needed.
    status evaluate(ts_ms now);

    // Alarms firing as of the last evaluate(), by rule name.
    std::vector<alarm> active() const;
    const std::vector<slo_rule>& rules() const { return rules_; }
    // prom_slo_alarm{rule} lines.
    void append_metrics(std::string& out) const;

  private:
    struct rule_state {
        std::optional<ts_ms> breached_since;
        std::map<std::pair<std::string, std::string>, group_counts> last_counts;
    };
    // What breaches a rule: the first of its groups over a threshold, and why.
    struct breaching {
        std::string reason;
        std::string topic;
        std::string group;
    };
    // What breaches the rule now, or nullopt; `judged` false when this node cannot tell (an
    // error-rate rule whose groups do not run here).
    std::optional<breaching> breach(const slo_rule& r, rule_state& st,
                                    const std::vector<group_info>& groups, bool& judged);

    store& store_;
    std::vector<slo_rule> rules_;
    counts_source counts_;
    std::mutex eval_mu_;  // one evaluate() at a time
    std::map<std::string, rule_state> state_;
    mutable std::mutex active_mu_;
    std::vector<alarm> active_;
};

}  // namespace prom::ops
