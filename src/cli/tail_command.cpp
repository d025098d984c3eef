// prom tail TOPIC: print events as NDJSON as they arrive (README.md, "The CLI").
// On the database directly; with --group the position is a durable consumer group,
// without it nothing is written and `--from` picks the start.
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "bus/reserved_groups.hpp"
#include "cli/commands.hpp"
#include "cli/ws_tail.hpp"
#include "core/topic_name.hpp"
#include "prom/bus.hpp"

namespace prom::cli {

namespace {

volatile int interrupted = 0;
extern "C" void on_interrupt(int) { interrupted = 1; }

struct tail_args {
    std::string db, topic, group, from = "latest", url, token;
    std::optional<std::size_t> limit;
};

void write_event(const event& e) {
    std::string line = to_json_text(e);
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stdout);
}

void run_tail(const tail_args& a, run_state& state) {
    if (a.from != "earliest" && a.from != "latest") {
        return report({errc::invalid_argument, "--from must be earliest or latest"}, state);
    }
    // A name no event can have would be waited for forever: refused as publish refuses it.
    event_input probe;
    probe.topic = a.topic;
    if (auto ok = validate_input(probe); !ok) return report(ok.error(), state);
    if (auto why = group_name_problem(a.group)) {
        return report({errc::invalid_argument, "--group: " + *why}, state);
    }
    if (auto why = reserved_group_problem(a.group)) {
        return report({errc::invalid_argument, "--group: " + *why}, state);
    }
    // CLI11 reads an empty variable as an unset one: `PROM_TOKEN=$TYPO` would go without a
    // token. Refused like `--token ''` and an empty PROM_DB (found from outside).
    if (const char* env = std::getenv("PROM_TOKEN");
        a.token.empty() && env != nullptr && *env == '\0') {
        return report({errc::invalid_argument,
                       "PROM_TOKEN is set but empty: unset it, or give a token (--token)"},
                      state);
    }
    // A token typed for a tail of the database would be ignored without a word (found from
    // outside); one that comes from PROM_TOKEN, set for other commands, is not an error.
    if (const char* env = std::getenv("PROM_TOKEN");
        a.url.empty() && !a.token.empty() && (env == nullptr || a.token != env)) {
        return report({errc::invalid_argument,
                       "--token is for --url (a server's gateway); a tail of --db takes none"},
                      state);
    }
    std::signal(SIGINT, on_interrupt);
    std::signal(SIGTERM, on_interrupt);
    if (!a.url.empty()) {
        auto ok = tail_over_gateway(
            {a.url, a.token, a.topic, a.group, a.from, a.limit.value_or(SIZE_MAX)}, interrupted);
        if (!ok) report(ok.error(), state);
        return;
    }
    auto s = open_or_report(a.db, state, db_access::must_exist);
    if (!s) return;
    std::signal(SIGINT, on_interrupt);
    std::signal(SIGTERM, on_interrupt);
    std::size_t printed = 0;
    const std::size_t limit = a.limit.value_or(SIZE_MAX);

    if (!a.group.empty()) {
        bus b(*s);
        std::mutex mu;
        std::condition_variable done;
        auto sub =
            b.subscribe(a.topic, a.group,
                        [&](std::span<const event> batch, subscription& sub) {
                            std::lock_guard lock(mu);
                            seq_t last{};
                            for (const auto& e : batch) {
                                if (printed >= limit) break;
                                write_event(e);
                                last = e.seq;
                                ++printed;
                            }
                            std::fflush(stdout);
                            // Ack only what was printed: with --limit the rest stays for next time.
                            if (last > 0) (void)sub.ack(last);
                            done.notify_all();
                        },
                        {.from = a.from == "earliest" ? start_from::earliest : start_from::latest,
                         .manual_ack = true});
        std::unique_lock lock(mu);
        while (!interrupted && printed < limit) done.wait_for(lock, std::chrono::milliseconds(100));
        return;
    }

    seq_t position{};
    if (a.from == "latest") {
        auto t = s->topic(a.topic);
        if (!t) return report(t.error(), state);
        position = *t ? (*t)->last_seq : seq_t{};
    }
    while (!interrupted && printed < limit) {
        auto version = s->change_version();
        scan_query q{.topic = a.topic,
                     .from_seq = position + 1,
                     .limit = std::min<std::size_t>(1000, limit - printed)};
        auto evs = scan_fitting(*s, q);
        if (!evs) return report(evs.error(), state);
        for (const auto& e : *evs) {
            write_event(e);
            position = e.seq;
            ++printed;
        }
        std::fflush(stdout);
        if (evs->empty()) s->wait_for_change(version, std::chrono::milliseconds(200));
    }
}

}  // namespace

void register_tail_command(CLI::App& app, run_state& state) {
    auto a = std::make_shared<tail_args>();
    auto* cmd = app.add_subcommand(
        "tail", "print a topic's events as NDJSON as they arrive (Ctrl-C stops)");
    add_db_option(*cmd, a->db);
    cmd->add_option("topic", a->topic, "topic name")->required();
    cmd->add_option("--group", a->group,
                    "read as this durable consumer group (acks what it prints); not one of "
                    "prom's own (projector.*, replay:*, process-projector, processes.txn)");
    cmd->add_option("--from", a->from, "earliest|latest: where to start without a cursor")
        ->default_val("latest");
    cmd->add_option("--limit", a->limit, "exit after N events")->check(whole_number(0));
    cmd->add_option("--url", a->url, "tail over a prom server's gateway, ws://HOST:PORT/ws");
    cmd->add_option("--token", a->token, "bearer token for --url")->envname("PROM_TOKEN");
    cmd->callback([a, &state] { run_tail(*a, state); });
}

}  // namespace prom::cli
