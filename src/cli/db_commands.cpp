// publish, scan, cursor, topics (README.md, "The CLI").
#include <algorithm>
#include <cstdio>

#include "cli/commands.hpp"
#include "core/reserved_headers.hpp"
#include "ops/alerts_topic.hpp"
#include "prom/bus.hpp"

namespace prom::cli {

namespace {

struct publish_args {
    std::string db, topic, payload, key, id, ts;
    std::optional<std::int64_t> expect_key_seq;
};

void run_publish(const publish_args& a, run_state& state) {
    auto payload = parse_json(a.payload);
    if (!payload)
        return report({errc::invalid_argument, "payload: " + payload.error().message}, state);
    event_input in;
    in.topic = a.topic;
    in.key = a.key;
    in.payload = std::move(*payload);
    if (!a.id.empty()) in.id = a.id;
    if (in.id && reserved_event_id(*in.id)) {
        return report({errc::invalid_argument, "--id: " + std::string(reserved_event_id_message)},
                      state);
    }
    if (!a.ts.empty()) {
        auto ts = parse_time(a.ts);
        if (!ts) return report(ts.error(), state);
        in.ts = *ts;
    }
    if (a.expect_key_seq) {
        if (*a.expect_key_seq < 0) {
            return report({errc::invalid_argument,
                           "--expect-key-seq must be a non-negative integer (0: the key has no "
                           "event yet)"},
                          state);
        }
        in.expect_key_seq = seq_t{*a.expect_key_seq};
    }
    if (auto ok = validate_input(in); !ok) return report(ok.error(), state);
    // Refused here as the server would refuse it, before the database is opened: input
    // refused creates nothing (a typo in --db must not leave an empty database behind).
    if (in.topic == ops::alerts_topic) {
        return report({errc::invalid_argument, ops::alerts_topic_refusal()}, state);
    }
    auto s = open_or_report(a.db, state);
    if (!s) return;
    bus b(*s);
    auto r = b.publish(std::move(in));
    if (!r) return report(r.error(), state);
    print_line(to_json(*r));
}

struct scan_args {
    std::string db, topic, key, from_ts, to_ts;
    std::int64_t from_seq = 1;
    std::optional<std::int64_t> limit;
};

void run_scan(const scan_args& a, run_state& state) {
    scan_query q;
    q.topic = a.topic;
    if (!a.key.empty()) q.key = a.key;
    q.from_seq = seq_t{a.from_seq};
    if (!a.from_ts.empty()) {
        auto t = parse_time(a.from_ts);
        if (!t) return report(t.error(), state);
        q.from_ts = *t;
    }
    if (!a.to_ts.empty()) {
        auto t = parse_time(a.to_ts);
        if (!t) return report(t.error(), state);
        q.to_ts = *t;
    }
    if (a.limit && *a.limit < 0)
        return report({errc::invalid_argument, "--limit must be >= 0"}, state);
    if (refused_topic_name(a.topic, state)) return;
    auto s = open_or_report(a.db, state, db_access::must_exist);
    if (!s) return;
    auto t = s->topic(a.topic);
    if (!t) return report(t.error(), state);
    if (!*t) return report({errc::not_found, "no topic '" + a.topic + "'"}, state);
    // Page through the topic so that memory stays bounded on big topics.
    constexpr std::size_t page = 1000;
    std::size_t left = a.limit ? static_cast<std::size_t>(*a.limit) : SIZE_MAX;
    std::string out;
    while (left > 0) {
        q.limit = std::min(page, left);
        auto evs = scan_fitting(*s, q);  // may lower q.limit: fewer events hold as many bytes
        if (!evs) return report(evs.error(), state);
        out.clear();
        for (const auto& e : *evs) {
            out += to_json_text(e);
            out.push_back('\n');
        }
        std::fwrite(out.data(), 1, out.size(), stdout);
        if (evs->size() < *q.limit) break;
        left -= evs->size();
        q.from_seq = evs->back().seq + 1;
    }
}

}  // namespace

void register_db_commands(CLI::App& app, run_state& state) {
    {
        auto a = std::make_shared<publish_args>();
        auto* cmd =
            app.add_subcommand("publish", "append one event; prints {id, seq, ts, duplicate}");
        add_db_option(*cmd, a->db);
        cmd->add_option("topic", a->topic, "topic name")->required();
        cmd->add_option("payload", a->payload, "the payload, any JSON value")->required();
        cmd->add_option("--key", a->key, "the event's key");
        cmd->add_option("--id", a->id,
                        "the event's id (idempotency: the same id again appends nothing); a UUIDv7 "
                        "when absent; ids starting with prom- are reserved");
        cmd->add_option("--ts", a->ts, "event time: epoch ms or ISO-8601; now when absent");
        cmd->add_option("--expect-key-seq", a->expect_key_seq,
                        "append only if the key's latest seq is N (0: no event yet); "
                        "otherwise exit 1 naming the key's seq")
            ->check(whole_number(0));
        cmd->callback([a, &state] { run_publish(*a, state); });
    }
    {
        auto a = std::make_shared<scan_args>();
        auto* cmd = app.add_subcommand("scan", "print a topic's events as NDJSON, in seq order");
        add_db_option(*cmd, a->db);
        cmd->add_option("topic", a->topic, "topic name")->required();
        cmd->add_option("--key", a->key, "only this key's events");
        cmd->add_option("--from-seq", a->from_seq, "first seq (inclusive)")->check(whole_number(0));
        cmd->add_option("--from-ts", a->from_ts, "earliest ts (inclusive): epoch ms or ISO-8601");
        cmd->add_option("--to-ts", a->to_ts, "latest ts (inclusive): epoch ms or ISO-8601");
        cmd->add_option("--limit", a->limit, "at most N events")->check(whole_number(0));
        cmd->callback([a, &state] { run_scan(*a, state); });
    }
    {
        struct args {
            std::string db, topic, group;
        };
        auto a = std::make_shared<args>();
        auto* cmd =
            app.add_subcommand("cursor", "print a consumer group's cursor {topic, group, seq}");
        add_db_option(*cmd, a->db);
        // Not ->required(): `prom cursor set …` (ops_commands.cpp) is a subcommand of this
        // one, and CLI11 would ask for these even then.
        cmd->add_option("topic", a->topic, "topic name");
        cmd->add_option("group", a->group, "consumer group");
        cmd->callback([a, cmd, &state] {
            if (cmd->get_subcommands().size() > 0) return;  // `prom cursor set …` ran
            if (a->topic.empty() || a->group.empty()) {
                return report({errc::invalid_argument,
                               "usage: prom cursor TOPIC GROUP, or prom cursor set TOPIC GROUP "
                               "--to-seq N|--to-ts T|--to-earliest|--to-latest [--force]"},
                              state);
            }
            if (refused_topic_name(a->topic, state)) return;
            auto s = open_or_report(a->db, state, db_access::must_exist);
            if (!s) return;
            // A group stores its starting point when it first subscribes, so no cursor means
            // the group never existed (often a typo), not "at seq 0". One that subscribed to a
            // topic with no events yet has one (found from outside: "no topic").
            auto c = s->cursor(a->topic, a->group);
            if (!c) return report(c.error(), state);
            if (!*c) {
                // Named as the group, as seek names it; a topic without events may have
                // other groups (found from outside: "no topic").
                auto t = s->topic(a->topic);
                if (!t) return report(t.error(), state);
                return report({errc::not_found, "no consumer group '" + a->group + "' on topic '" +
                                                    a->topic + "': it never subscribed" +
                                                    (*t ? "" : " (the topic has no events yet)")},
                              state);
            }
            print_line(
                json::object{{"topic", a->topic}, {"group", a->group}, {"seq", (**c).value}});
        });
    }
    {
        auto db = std::make_shared<std::string>();
        auto with_bytes = std::make_shared<bool>(false);
        auto* cmd = app.add_subcommand(
            "topics",
            "list topics with event counts and last seq (NDJSON); `horizon` once "
            "retention has dropped events, `bytes` with --bytes");
        add_db_option(*cmd, *db);
        cmd->add_flag("--bytes", *with_bytes,
                      "add what each topic's events take (reads every event)");
        cmd->callback([db, with_bytes, &state] {
            auto s = open_or_report(*db, state, db_access::must_exist);
            if (!s) return;
            auto ts = s->topics();
            if (!ts) return report(ts.error(), state);
            std::vector<topic_size> sizes;
            if (*with_bytes) {
                auto z = s->topic_sizes();
                if (!z) return report(z.error(), state);
                sizes = std::move(*z);
            }
            for (const auto& t : *ts) {
                json::object line{
                    {"topic", t.topic}, {"count", t.count}, {"last_seq", t.last_seq.value}};
                if (*with_bytes) {
                    auto z = std::ranges::find(sizes, t.topic, &topic_size::topic);
                    line["bytes"] = z != sizes.end() ? z->bytes : 0;
                }
                // Only once a retention pass has dropped events (docs/retention.md).
                if (t.horizon.value > 0) line["horizon"] = t.horizon.value;
                print_line(line);
            }
        });
    }
}

}  // namespace prom::cli
