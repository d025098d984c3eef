// prom topic policy, prom compact, prom erase, prom doc rm (docs/retention.md).
// Exit codes: 2 for bad usage and for arguments that name nothing (an unknown topic, a topic
// without a policy to compact), changing nothing; 1 when the command failed or found nothing
// to act on (no such key or document, no policy to show or clear) or a pass was already
// running.
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <limits>

#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "docs/reserved.hpp"
#include "docs/update.hpp"
#include "retention/retention.hpp"
#include "retention/unreclaimed_warning.hpp"
#include "userproj_runtime/document_erasure.hpp"
#include "userproj_runtime/key_erasure.hpp"

namespace prom::cli {

namespace {

void usage(std::string message, run_state& state) {
    report({errc::invalid_argument, std::move(message)}, state);
}

void found_nothing(std::string message, run_state& state) {
    report({errc::not_found, std::move(message)}, state);  // exit 1
}

// An unknown topic is bad input (exit 2), like in the operations commands.
bool topic_exists(store& s, const std::string& topic, run_state& state) {
    if (refused_topic_name(topic, state)) return false;
    auto t = s.topic(topic);
    if (!t) {
        report(t.error(), state);
        return false;
    }
    if (!*t) {
        usage("no topic '" + topic + "'", state);
        return false;
    }
    return true;
}

// Best effort: what was dropped is gone whatever this says (SQLite cannot finish the WAL
// checkpoint while a reader, such as a running prom serve, holds an old snapshot; the space
// comes back at a later reclaim).
void give_space_back(store& s) {
    if (auto ok = s.reclaim_space(); !ok) {
        std::fprintf(stderr, "prom: warning: the space is not given back yet: %s\n",
                     ok.error().message.c_str());
    }
}

// After an erasure, the same, in the answer's words (found from outside: the CLI said only
// that space was not given back, while the WAL still held the erased payload): a `warning`
// member in the printed line, and on stderr.
void give_erased_space_back(store& s, json::object& out) {
    auto ok = s.reclaim_space();
    if (ok) return;
    out["warning"] = retention::erased_content_may_remain(ok.error());
    std::fprintf(stderr, "prom: warning: %s\n", out["warning"].as_string().c_str());
}

// A duration option: "7d", "12h", "30m", "45s", "250ms" or whole milliseconds.
json::value duration_value(const std::string& text) {
    if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
        std::int64_t ms = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
        if (ec == std::errc() && end == text.data() + text.size()) return json::value(ms);
        // Past int64: a number past it too, which the policy refuses as too large.
        return json::value(std::numeric_limits<std::uint64_t>::max());
    }
    return json::value(text);
}

struct policy_args {
    std::string db, topic, retain_age, compact_horizon, behind;
    std::optional<std::int64_t> retain_events;
    bool clear = false;
};

void run_policy(const policy_args& a, run_state& state) {
    bool sets =
        !a.retain_age.empty() || a.retain_events || !a.compact_horizon.empty() || !a.behind.empty();
    if (a.clear && sets) {
        return usage("--clear takes no other option: it removes the policy of TOPIC", state);
    }
    if (!sets && !a.clear) {  // show the effective policy
        // A name no topic or pattern can be is bad input (found from outside: exit 1).
        if (auto ok = retention::check_policy_pattern(a.topic); !ok) {
            return usage(ok.error().message, state);
        }
        auto s = open_or_report(a.db, state, db_access::must_exist);
        if (!s) return;
        auto all = retention::load_policies(*s);
        if (!all) return report(all.error(), state);
        auto p = retention::policy_for(*all, a.topic);
        if (!p) {
            // A name that is neither a topic nor a policy's pattern, or a pattern that
            // matches no topic, names nothing: exit 2, as for the other commands
            // (docs/retention.md; found from outside: exit 1).
            auto topics = s->topics();
            if (!topics) return report(topics.error(), state);
            if (std::ranges::none_of(*topics, [&](const topic_info& t) {
                    return retention::matches(a.topic, t.topic);
                })) {
                return usage(std::string(a.topic.find('*') == std::string::npos
                                             ? "no topic '" + a.topic + "'"
                                             : "no topic matches '" + a.topic + "'") +
                                 ", and no policy applies to it",
                             state);
            }
            return found_nothing("no policy applies to '" + a.topic + "'", state);
        }
        return print_line(json::object{
            {"topic", a.topic}, {"pattern", p->pattern}, {"policy", retention::to_json(*p)}});
    }
    if (a.clear) {
        auto s = open_or_report(a.db, state, db_access::must_exist);
        if (!s) return;
        auto gone = retention::delete_policy(*s, a.topic);
        if (!gone) return report(gone.error(), state);
        if (!*gone) return found_nothing("no policy for '" + a.topic + "'", state);
        return print_line(json::object{{"topic", a.topic}, {"deleted", true}});
    }
    json::object body;
    if (!a.retain_age.empty() || a.retain_events) {
        json::object r;
        if (!a.retain_age.empty()) r["max_age"] = duration_value(a.retain_age);
        if (a.retain_events) r["max_events"] = *a.retain_events;
        body["retain"] = std::move(r);
    }
    if (!a.compact_horizon.empty()) {
        body["compact"] = json::object{{"horizon", duration_value(a.compact_horizon)}};
    }
    if (!a.behind.empty()) body["behind"] = a.behind;
    auto p = retention::parse_policy(a.topic, body);
    if (!p) return report(p.error(), state);
    if (auto ok = retention::check_retention_applies(a.topic); !ok) {
        return report(ok.error(), state);
    }
    auto s = open_or_report(a.db, state, db_access::must_exist);
    if (!s) return;
    auto topics = s->topics();
    if (!topics) return report(topics.error(), state);
    json::array applies;
    for (const auto& t : *topics) {
        if (retention::matches(a.topic, t.topic)) applies.emplace_back(t.topic);
    }
    if (applies.empty()) return usage("'" + a.topic + "' matches no existing topic", state);
    if (auto ok = retention::put_policy(*s, *p); !ok) return report(ok.error(), state);
    print_line(json::object{{"topic", a.topic}, {"policy", retention::to_json(*p)}});
}

struct compact_args {
    std::string db, topic;
    bool dry_run = false;
    std::string progress = "auto";
};

void run_compact(const compact_args& a, run_state& state) {
    auto mode = progress_mode(a.progress);
    if (!mode) return report(mode.error(), state);
    auto s = open_or_report(a.db, state, db_access::must_exist);
    if (!s) return;
    auto all = retention::load_policies(*s);
    if (!all) return report(all.error(), state);
    std::vector<std::pair<std::string, retention::policy>> todo;
    if (!a.topic.empty()) {
        if (!topic_exists(*s, a.topic, state)) return;
        if (auto ok = retention::check_retention_applies(a.topic); !ok) {
            return report(ok.error(), state);
        }
        auto p = retention::policy_for(*all, a.topic);
        if (!p) {
            return usage(
                "no policy applies to '" + a.topic + "' (set one with prom topic policy TOPIC …)",
                state);
        }
        todo.emplace_back(a.topic, std::move(*p));
    } else {
        auto topics = s->topics();
        if (!topics) return report(topics.error(), state);
        for (const auto& t : *topics) {
            if (auto p = retention::policy_for(*all, t.topic)) todo.emplace_back(t.topic, *p);
        }
    }
    const std::string owner = "cli:" + std::to_string(::getpid());
    const auto pace = retention::default_pacing(a.db);
    bool dropped = false;
    for (const auto& [topic, policy] : todo) {
        progress_printer progress(*mode);
        std::int64_t last_examined = 0, last_total = 0;
        auto report_pass =
            retention::run_pass(*s, topic, policy,
                                {.now = now_ms(),
                                 .dry_run = a.dry_run,
                                 .batch_events = pace.batch_events,
                                 .owner = owner,
                                 .on_progress =
                                     [&, &topic = topic](const retention::pass_progress& p) {
                                         last_examined = p.examined;
                                         last_total = p.total;
                                         progress.update(p.examined, p.total,
                                                         json::object{{"topic", topic},
                                                                      {"examined", p.examined},
                                                                      {"total", p.total},
                                                                      {"dropped", p.dropped}});
                                     },
                                 .pause = pace.pause});
        if (!report_pass) {
            progress.abandon();
            if (report_pass.error().code == errc::conflict) {
                std::fprintf(stderr, "prom: %s: a pass of this topic is already running\n",
                             topic.c_str());
                state.exit_code = 1;
                continue;
            }
            report(report_pass.error(), state);
            continue;
        }
        progress.finish(std::max(last_examined, report_pass->examined),
                        std::max(last_total, report_pass->examined));
        dropped = dropped || report_pass->retained_out + report_pass->compacted > 0;
        print_line(retention::to_json(*report_pass));
        std::fflush(stdout);
    }
    if (dropped && !a.dry_run) give_space_back(*s);
}

struct erase_args {
    std::string db, topic, key;
};

struct doc_rm_args {
    std::string db, collection, key;
};

}  // namespace

void register_retention_commands(CLI::App& app, run_state& state) {
    {
        auto* topic = app.add_subcommand("topic", "per-topic settings: retention policies");
        topic->require_subcommand(1);
        auto a = std::make_shared<policy_args>();
        auto* cmd = topic->add_subcommand(
            "policy",
            "show TOPIC's effective policy; with options, set the policy of TOPIC (a name or a "
            "prefix pattern like 'order.*'), replacing it; --clear removes it");
        add_db_option(*cmd, a->db);
        cmd->add_option("topic", a->topic, "topic name or prefix pattern ('order.*')")->required();
        cmd->add_option("--retain-age", a->retain_age,
                        "drop events older than this: 7d, 12h, 30m, 45s, 250ms");
        cmd->add_option("--retain-events", a->retain_events,
                        "keep at most this many events (the newest)")
            ->check(whole_number(1));
        cmd->add_option("--compact-horizon", a->compact_horizon,
                        "drop superseded events of a key older than this (7d, 12h, …)");
        cmd->add_option("--behind", a->behind,
                        "skip (drop events a group has not seen, counted) or wait (keep them)");
        cmd->add_flag("--clear", a->clear, "remove the policy of TOPIC");
        cmd->callback([a, &state] { run_policy(*a, state); });
    }
    {
        auto a = std::make_shared<compact_args>();
        auto* cmd = app.add_subcommand(
            "compact",
            "run one retention/compaction pass over TOPIC (or every topic with a policy) and "
            "print what it dropped (NDJSON)");
        add_db_option(*cmd, a->db);
        cmd->add_option("topic", a->topic, "topic name (default: every topic with a policy)");
        cmd->add_flag("--dry-run", a->dry_run, "report what a pass would drop; change nothing");
        cmd->add_option("--progress", a->progress,
                        "auto (a bar on a terminal), bar, json (a line a second) or none")
            ->default_val("auto");
        cmd->callback([a, &state] { run_compact(*a, state); });
    }
    {
        auto a = std::make_shared<erase_args>();
        auto* cmd = app.add_subcommand(
            "erase",
            "erase every event of KEY in TOPIC (and TOPIC.dlq), its snapshots and latest row; "
            "an erasure marker without payload is appended");
        add_db_option(*cmd, a->db);
        cmd->add_option("topic", a->topic, "topic name")->required();
        cmd->add_option("key", a->key, "the key to erase")->required();
        cmd->callback([a, &state] {
            if (a->key.empty()) return usage("KEY must not be empty", state);
            auto s = open_or_report(a->db, state, db_access::must_exist);
            if (!s) return;
            if (!topic_exists(*s, a->topic, state)) return;
            auto done = userproj::erase_topic_key(*s, a->topic, a->key);
            if (!done) {
                if (done.error().code == errc::not_found) {
                    return found_nothing(done.error().message, state);
                }
                return report(done.error(), state);
            }
            auto out = retention::to_json(*done);
            give_erased_space_back(*s, out);
            print_line(out);
        });
    }
    {
        auto* doc = app.add_subcommand("doc", "documents of collections");
        doc->require_subcommand(1);
        auto a = std::make_shared<doc_rm_args>();
        auto* rm = doc->add_subcommand("rm", "delete the document KEY of COLLECTION");
        add_db_option(*rm, a->db);
        rm->add_option("collection", a->collection, "collection name")->required();
        rm->add_option("key", a->key, "document key")->required();
        rm->callback([a, &state] {
            if (!docs::valid_collection_name(a->collection)) {
                return usage("invalid collection name '" + a->collection + "'", state);
            }
            if (docs::reserved_collection(a->collection)) {
                return usage("'" + a->collection +
                                 "' is prom's own collection: change it with the commands that "
                                 "manage it",
                             state);
            }
            auto s = open_or_report(a->db, state, db_access::must_exist);
            if (!s) return;
            auto gone = userproj::erase_document(*s, a->collection, a->key);
            if (!gone) return report(gone.error(), state);
            if (!*gone) {
                return found_nothing(
                    "no document '" + a->key + "' in collection '" + a->collection + "'", state);
            }
            json::object out{{"collection", a->collection}, {"key", a->key}, {"deleted", true}};
            give_erased_space_back(*s, out);
            print_line(out);
        });
    }
}

}  // namespace prom::cli
