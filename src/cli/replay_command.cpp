// prom replay SRC DST [--where FILTER] [--map TEMPLATE | --lua FILE] [--from-ts T] [--to-ts T]
// (docs/operations.md). On a terminal, a progress bar on stderr; `--progress=json` prints
// one JSON progress line a second on stdout; always one summary line at the end.
#include <atomic>
#include <csignal>
#include <cstdio>

#include "cli/ops_cli.hpp"
#include "cli/progress.hpp"
#include "core/text_file.hpp"
#include "ops/replayer.hpp"

namespace prom::cli {

namespace {

struct replay_args {
    std::string db, src, dst, where, map, lua_file, from_ts, to_ts;
    std::string progress = "auto";  // auto | bar | json | none
    std::size_t batch = 1000;
};

void draw_bar(const ops::replay_progress& p, bool final) {
    draw_progress_bar(p.done(), p.total(), p.rate(), p.eta(), final, "seqs");
}

// Set by SIGINT and SIGTERM while a replay runs (a signal handler may only store to a
// lock-free atomic).
std::atomic<bool> interrupted{false};
void note_interrupt(int) { interrupted = true; }

void run_replay_cmd(const replay_args& a, run_state& state) {
    ops::replay_spec spec;
    spec.src = a.src;
    spec.dst = a.dst;
    spec.batch_size = a.batch;
    if (!a.where.empty()) {
        auto w = parse_json(a.where);
        if (!w) return report_ops({errc::invalid_argument, "--where: " + w.error().message}, state);
        spec.where = std::move(*w);
    }
    if (!a.map.empty()) {
        auto m = parse_json(a.map);
        if (!m) return report_ops({errc::invalid_argument, "--map: " + m.error().message}, state);
        spec.map = std::move(*m);
    }
    if (!a.lua_file.empty()) {
        auto text = read_text_file(a.lua_file, "--lua file ");
        if (!text) return report_ops(text.error(), state);
        spec.lua = std::move(*text);
    }
    for (auto [text, out, name] : {std::tuple{&a.from_ts, &spec.from_ts, "--from-ts"},
                                   std::tuple{&a.to_ts, &spec.to_ts, "--to-ts"}}) {
        if (text->empty()) continue;
        auto t = parse_time(*text);
        if (!t)
            return report_ops(
                {errc::invalid_argument, std::string(name) + ": " + t.error().message}, state);
        *out = *t;
    }
    auto mode = progress_mode(a.progress);
    if (!mode) return report_ops(mode.error(), state);
    auto s = open_or_report(a.db, state, db_access::must_exist);
    if (!s) return;
    auto compiled = ops::compile_replay(*s, spec);
    if (!compiled) return report_ops(compiled.error(), state);

    auto last = std::chrono::steady_clock::now() - std::chrono::seconds(1);
    ops::replay_progress reached;  // for the summary of a run that fails part-way
    bool started = false;          // the run held DST's replay lease
    // The line every run ends with (docs/operations.md).
    auto summary_of = [&](const ops::replay_progress& p, std::string_view how) {
        json::object summary = ops::to_json(p);
        summary["src"] = a.src;
        summary["dst"] = a.dst;
        summary["state"] = how;
        return summary;
    };
    // Ctrl-C or SIGTERM cancels the run between two events, so that it ends with its summary
    // line like any other (found from outside: it died at once, printing nothing).
    interrupted = false;
    const auto previous_int = std::signal(SIGINT, note_interrupt);
    const auto previous_term = std::signal(SIGTERM, note_interrupt);
    auto done = ops::run_replay(*s, **compiled, [&](const ops::replay_progress& p) {
        reached = p;
        started = true;
        if (interrupted) return false;
        auto now = std::chrono::steady_clock::now();
        if (now - last < std::chrono::milliseconds(*mode == "bar" ? 100 : 1000)) return true;
        last = now;
        if (*mode == "bar") draw_bar(p, false);
        if (*mode == "json") print_line(ops::to_json(p));
        std::fflush(stdout);
        return true;
    });
    std::signal(SIGINT, previous_int);
    std::signal(SIGTERM, previous_term);
    if (!done && done.error().code == errc::cancelled) {
        if (*mode == "bar") std::fputc('\n', stderr);
        json::object summary = summary_of(reached, "cancelled");
        summary["error"] = done.error().message;
        print_line(summary);
        report_ops(done.error(), state);
        state.exit_code = 1;
        return;
    }
    if (!done) {
        if (*mode == "bar") std::fputc('\n', stderr);
        // The run failed on the data or the database, not on the command line (that was all
        // checked above): exit 1, after the summary every run ends with. What was copied
        // stays; a rerun goes on from the cursor (docs/operations.md). Another replay into
        // DST holding it stays exit 2, as a refused start; a conflict once the run has
        // started (its cursor moved by a seek) is a run that failed part-way, exit 1 (found
        // from outside: it was exit 2).
        json::object summary = summary_of(reached, "failed");
        summary["error"] = done.error().message;
        print_line(summary);
        report_ops(done.error(), state);
        if (done.error().code != errc::conflict || started) state.exit_code = 1;
        return;
    }
    if (*mode == "bar") draw_bar(*done, true);
    print_line(summary_of(*done, "done"));
}

}  // namespace

void register_replay_command(CLI::App& app, run_state& state) {
    auto a = std::make_shared<replay_args>();
    auto* cmd = app.add_subcommand(
        "replay", "copy SRC's matching events to DST exactly once (rerun after a crash to finish)");
    add_db_option(*cmd, a->db);
    cmd->add_option("src", a->src, "source topic")->required();
    cmd->add_option("dst", a->dst, "destination topic")->required();
    cmd->add_option("--where", a->where, "a filter, as in projector definitions (JSON)");
    auto* map = cmd->add_option("--map", a->map,
                                "a value template for the payload (JSON; default \"$payload\")");
    auto* lua = cmd->add_option("--lua", a->lua_file,
                                "a Lua file defining function map(event): the payload, or nil");
    map->excludes(lua);
    cmd->add_option("--from-ts", a->from_ts, "earliest ts (inclusive): epoch ms or ISO-8601");
    cmd->add_option("--to-ts", a->to_ts, "latest ts (inclusive): epoch ms or ISO-8601");
    cmd->add_option("--progress", a->progress,
                    "auto (a bar on a terminal), bar, json (a line a second) or none")
        ->default_val("auto");
    cmd->add_option("--batch", a->batch, "events per transaction")
        ->default_val(1000)
        ->check(whole_number(1));
    cmd->callback([a, &state] { run_replay_cmd(*a, state); });
}

}  // namespace prom::cli
