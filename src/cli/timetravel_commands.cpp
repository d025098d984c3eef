// at, process-at: time travel from the CLI (docs/time-travel.md).
#include <cstdio>

#include "cli/commands.hpp"
#include "prom/timetravel.hpp"

namespace prom::cli {

namespace {

struct at_args {
    std::string db, topic, key, time, reducer = "replace";
    bool all = false;
};

void run_at(const at_args& a, run_state& state) {
    // `prom at TOPIC KEY T` or `prom at TOPIC --all T`: with --all the second positional is T.
    std::string key = a.key, time = a.time;
    if (a.all) {
        if (!time.empty() || key.empty()) {
            return report({errc::invalid_argument, "usage: prom at TOPIC --all T"}, state);
        }
        time = std::exchange(key, std::string());
    } else if (key.empty() || time.empty()) {
        return report(
            {errc::invalid_argument, "usage: prom at TOPIC KEY T [--reducer replace|merge]"},
            state);
    }
    // Bad input is reported before the database is opened, so it changes nothing.
    auto t = parse_time(time);
    if (!t) return report(t.error(), state);
    auto r = builtin_reducer(a.reducer);
    if (!r) return report(r.error(), state);
    if (refused_topic_name(a.topic, state)) return;
    auto s = open_or_report(a.db, state, db_access::must_exist);
    if (!s) return;
    time_machine tm(*s);

    if (!a.all) {
        auto got = tm.at(a.topic, key, *t, *r);
        if (!got) return report(got.error(), state);
        if (!*got) {
            return report({errc::not_found, "no state: key '" + key + "' of topic '" + a.topic +
                                                "' has no event at or before " + time},
                          state);
        }
        return print_line(to_json(**got));
    }

    std::size_t printed = 0;
    std::string line;
    auto ok = tm.at_all(a.topic, *t, *r, [&](const keyed_state& ks) {
        line = canonical_json(to_json(ks));
        line.push_back('\n');
        std::fwrite(line.data(), 1, line.size(), stdout);
        ++printed;
        return true;
    });
    if (!ok) return report(ok.error(), state);
    if (printed == 0) {
        report({errc::not_found,
                "no state: no key of topic '" + a.topic + "' has an event at or before " + time},
               state);
    }
}

}  // namespace

void register_timetravel_commands(CLI::App& app, run_state& state) {
    {
        auto a = std::make_shared<at_args>();
        auto* cmd = app.add_subcommand(
            "at", "the state of KEY at instant T: {state, ts, seq} (--all: NDJSON, every key)");
        add_db_option(*cmd, a->db);
        cmd->add_option("topic", a->topic, "topic name")->required();
        cmd->add_option("key", a->key, "the key (with --all: the time T)");
        cmd->add_option("time", a->time, "T: epoch ms or ISO-8601 with a zone");
        cmd->add_option("--reducer", a->reducer, "replace (payload = state) or merge (RFC 7396)")
            ->default_val("replace");
        cmd->add_flag("--all", a->all, "every key of TOPIC: NDJSON {key, state, ts, seq}");
        cmd->callback([a, &state] { run_at(*a, state); });
    }
    {
        auto a = std::make_shared<at_args>();
        auto* cmd = app.add_subcommand(
            "process-at", "a process's state at T: prom at process.state PROCESS_ID T");
        add_db_option(*cmd, a->db);
        cmd->add_option("process_id", a->key, "host:name:pid")->required();
        cmd->add_option("time", a->time, "T: epoch ms or ISO-8601 with a zone")->required();
        cmd->callback([a, &state] {
            a->topic = "process.state";
            run_at(*a, state);
        });
    }
}

}  // namespace prom::cli
