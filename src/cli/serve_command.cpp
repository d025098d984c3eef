// prom serve (docs/config.md). Runs until SIGINT or SIGTERM, then shuts down within the deadline.
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>

#include "cli/commands.hpp"
#include "cli/signal_watch.hpp"
#include "server/demo.hpp"
#include "server/node.hpp"

namespace prom::cli {

namespace {

struct serve_args {
    std::string db, listen, config;
    bool demo = false;
    bool insecure_listen_any = false;
};

void run_serve(const serve_args& a, const CLI::App& cmd, run_state& state) {
    server::serve_config cfg;
    if (!a.config.empty()) {
        if (auto ok = server::load_config_file(a.config, cfg); !ok)
            return report(ok.error(), state);
    }
    // Flags (and PROM_DB) win over the file; without either the file's db stands.
    if (cmd.count("--db") > 0 || a.config.empty()) cfg.db = a.db;
    if (!a.listen.empty()) {
        if (auto ok = server::parse_listen(a.listen, cfg); !ok) return report(ok.error(), state);
    }
    if (a.insecure_listen_any) cfg.insecure_listen_any = true;
    if (a.demo) {
        // The demo's processes are shown by the process projectors: without them its
        // instructions (documents, stale after 10 s) would all be untrue (found from outside).
        if (std::find(cfg.projectors.begin(), cfg.projectors.end(), "process") ==
            cfg.projectors.end()) {
            return report({errc::invalid_argument,
                           "--demo needs the process projectors, which this config turns off "
                           "(\"projectors\" without \"process\")"},
                          state);
        }
        cfg.demo = true;
        // A short window so that the silent demo process turns stale while you watch.
        if (cfg.stale_after > std::chrono::seconds(10)) cfg.stale_after = std::chrono::seconds(10);
    }
    spdlog::set_level(spdlog::level::info);

    // Each connection is a descriptor: use the hard limit, not the (often 1024) soft one.
    if (rlimit nofile{};
        getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        setrlimit(RLIMIT_NOFILE, &nofile);
    }

    // Signals are taken synchronously by this thread: block them before any thread starts
    // so that every thread inherits the mask.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    // One thread takes the signals from the start on: during the start-up wait for the
    // database (db_wait) a SIGINT/SIGTERM must stop that wait at once, not after it; after
    // the first signal the shutdown gets the deadline plus this margin for what follows the
    // connections (projectors finishing their batch, the log's last commit), and no more.
    constexpr std::chrono::milliseconds after_the_deadline{5000};
    signal_watch watch(signals, cfg.shutdown_deadline + after_the_deadline);
    auto n = server::node::start(cfg, watch.token());
    if (!n) {
        watch.finish();
        return report(n.error(), state);
    }
    std::string base = "http://" +
                       (cfg.host.find(':') != std::string::npos ? "[" + cfg.host + "]" : cfg.host) +
                       ":" + std::to_string((*n)->port());
    if (cfg.demo) {
        std::error_code ec;
        auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
        std::string text = server::demo_instructions(
            base, cfg.stale_after, ec ? std::string("prom") : self.string(), cfg.db);
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
    }
    const int sig = watch.wait_for_signal();
    spdlog::info("prom serve: {} received, shutting down (deadline {} ms)",
                 sig == SIGINT ? "SIGINT" : "SIGTERM", cfg.shutdown_deadline.count());
    (*n)->stop();
}

}  // namespace

void register_serve_command(CLI::App& app, run_state& state) {
    auto args = std::make_shared<serve_args>();
    auto* cmd = app.add_subcommand(
        "serve",
        "run the HTTP server, the WebSocket gateway and the projectors (the built-in ones "
        "the config names, and the user-defined ones stored in the database or listed in the "
        "config)");
    add_db_option(*cmd, args->db);
    cmd->add_option("--listen", args->listen, "HOST:PORT (default 127.0.0.1:8091)");
    cmd->add_option("--config", args->config, "JSON config file (see docs/config.md)");
    cmd->add_flag("--demo", args->demo, "also run synthetic processes that send heartbeats");
    cmd->add_flag("--insecure-listen-any", args->insecure_listen_any,
                  "allow listening beyond loopback with no auth tokens configured");
    cmd->callback([args, cmd, &state] { run_serve(*args, *cmd, state); });
}

}  // namespace prom::cli
