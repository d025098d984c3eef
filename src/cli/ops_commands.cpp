// prom groups, prom groups rm, prom cursor set, prom dlq ls|replay (docs/operations.md).
// Errors the operator can fix (an unknown topic or group, a bad target, an active group)
// exit 2 and change nothing.
#include <cstdio>
#include <limits>

#include "cli/commands.hpp"
#include "cli/ops_cli.hpp"
#include "ops/dlq.hpp"
#include "ops/groups.hpp"

namespace prom::cli {

void report_ops(const error& e, run_state& state) {
    print_error(e.message);
    bool bad_input =
        e.code == errc::invalid_argument || e.code == errc::not_found || e.code == errc::conflict;
    state.exit_code = bad_input ? 2 : 1;
}

namespace {

struct group_args {
    std::string db, topic, group;
};

struct seek_args {
    std::string db, topic, group, to_ts;
    std::optional<std::int64_t> to_seq;
    bool earliest = false, latest = false, force = false;
};

void run_seek(const seek_args& a, run_state& state) {
    int targets =
        (a.to_seq ? 1 : 0) + (a.to_ts.empty() ? 0 : 1) + (a.earliest ? 1 : 0) + (a.latest ? 1 : 0);
    if (targets != 1) {
        return report_ops({errc::invalid_argument,
                           "give exactly one of --to-seq N, --to-ts T, --to-earliest, --to-latest"},
                          state);
    }
    ops::seek_target t;
    if (a.to_seq) {
        t = {ops::seek_target::kind::seq, *a.to_seq};
    } else if (!a.to_ts.empty()) {
        auto ts = parse_time(a.to_ts);
        if (!ts) return report_ops(ts.error(), state);
        t = {ops::seek_target::kind::ts, ts->value};
    } else {
        t = {a.earliest ? ops::seek_target::kind::earliest : ops::seek_target::kind::latest, 0};
    }
    auto s = open_or_report(a.db, state, db_access::must_exist);
    if (!s) return;
    auto done = ops::seek(*s, a.topic, a.group, t, a.force);
    if (!done) return report_ops(done.error(), state);
    print_line(json::object{{"topic", a.topic},
                            {"group", a.group},
                            {"previous", done->previous.value},
                            {"seq", done->seq.value},
                            {"revoked", done->revoked}});
}

struct dlq_args {
    std::string db, topic, group;
    std::vector<std::string> ids;
    std::size_t limit = 0;  // 0: all
    std::int64_t after = 0;
};

}  // namespace

void register_ops_commands(CLI::App& app, run_state& state, CLI::App* cursor_cmd) {
    {
        auto db = std::make_shared<std::string>();
        auto* cmd = app.add_subcommand(
            "groups",
            "list every consumer group (NDJSON): cursor, lag in events and seconds, "
            "holder, last ack");
        add_db_option(*cmd, *db);
        auto a = std::make_shared<group_args>();
        auto* rm = cmd->add_subcommand("rm", "delete an inactive group's cursor");
        add_db_option(*rm, a->db);
        rm->add_option("topic", a->topic, "topic name")->required();
        rm->add_option("group", a->group, "consumer group")->required();
        rm->callback([a, &state] {
            auto s = open_or_report(a->db, state, db_access::must_exist);
            if (!s) return;
            if (auto ok = ops::remove_group(*s, a->topic, a->group); !ok) {
                return report_ops(ok.error(), state);
            }
            print_line(json::object{{"topic", a->topic}, {"group", a->group}, {"deleted", true}});
        });
        cmd->callback([db, cmd, rm, &state] {
            if (rm->parsed()) return;
            auto s = open_or_report(*db, state, db_access::must_exist);
            if (!s) return;
            auto gs = ops::list_groups(*s, now_ms());
            if (!gs) return report(gs.error(), state);
            for (const auto& g : *gs) print_line(ops::to_json(g));
            (void)cmd;
        });
    }
    {
        auto a = std::make_shared<seek_args>();
        auto* set = cursor_cmd->add_subcommand(
            "set", "move a group's cursor: the next event delivered is the one after it");
        add_db_option(*set, a->db);
        set->add_option("topic", a->topic, "topic name")->required();
        set->add_option("group", a->group, "consumer group")->required();
        set->add_option("--to-seq", a->to_seq, "the new cursor (0..last seq)")
            ->check(whole_number(0));
        set->add_option("--to-ts", a->to_ts,
                        "deliver from the first event (in seq order) with ts >= T");
        set->add_flag("--to-earliest", a->earliest, "deliver the whole topic again");
        set->add_flag("--to-latest", a->latest, "skip everything published so far");
        set->add_flag("--force", a->force,
                      "revoke an active consumer's lease instead of refusing (it re-reads the "
                      "cursor when it takes the lease again)");
        set->callback([a, &state] { run_seek(*a, state); });
    }
    {
        auto* dlq = app.add_subcommand("dlq", "dead letters: list and replay");
        dlq->require_subcommand(1);
        auto a = std::make_shared<dlq_args>();
        auto* ls = dlq->add_subcommand("ls", "list TOPIC.dlq's entries (NDJSON)");
        add_db_option(*ls, a->db);
        ls->add_option("topic", a->topic, "the source topic (not the .dlq one)")->required();
        ls->add_option("--group", a->group, "only this group's dead letters");
        ls->add_option("--limit", a->limit, "at most N entries, the oldest first (default: all)")
            ->check(whole_number(1));
        ls->add_option("--after", a->after,
                       "only entries past this dlq_seq (the last one of a previous listing)")
            ->check(whole_number(0));
        ls->callback([a, &state] {
            auto s = open_or_report(a->db, state, db_access::must_exist);
            if (!s) return;
            std::optional<std::string_view> g;
            if (!a->group.empty()) g = a->group;
            auto ds = ops::list_dead_letters(
                *s, a->topic, g, a->limit ? a->limit : std::numeric_limits<std::size_t>::max(),
                seq_t{a->after});
            if (!ds) return report_ops(ds.error(), state);
            for (const auto& d : *ds) print_line(ops::to_json(d));
        });
        auto b = std::make_shared<dlq_args>();
        auto* replay = dlq->add_subcommand(
            "replay", "give the projector each dead-lettered event once more (idempotent)");
        add_db_option(*replay, b->db);
        replay->add_option("topic", b->topic, "the source topic (not the .dlq one)")->required();
        replay->add_option("--group", b->group, "only this group's dead letters");
        replay->add_option("--id", b->ids, "only these entries (entry or original id)");
        replay->callback([b, &state] {
            auto s = open_or_report(b->db, state, db_access::must_exist);
            if (!s) return;
            ops::dlq_replay_options o;
            if (!b->group.empty()) o.group = b->group;
            o.ids = b->ids;
            auto done = ops::replay_dead_letters(*s, b->topic, o);
            if (!done) return report_ops(done.error(), state);
            json::object out = ops::to_json(*done);
            out.erase("events");
            print_line(out);
        });
    }
}

}  // namespace prom::cli
