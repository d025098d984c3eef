// Settings of `prom serve`: defaults, then the JSON config file, then command-line flags.
// The file format is documented in docs/http-api.md ("Configuration").
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "auth/auth_policy.hpp"
#include "ops/slo.hpp"
#include "prom/error.hpp"
#include "prom/store.hpp"
#include "retention/retention.hpp"

namespace prom::server {

// "retention": the background passes of docs/retention.md. The policies of the config are
// stored at start (they join those set by the route and the CLI); the runner runs whatever
// is stored, every `interval`.
struct retention_settings {
    std::chrono::milliseconds interval{60000};
    std::vector<retention::policy> policies;
    bool snapshots = true;  // also build time-travel snapshots of topics that grew
    // Pacing of the passes (docs/retention.md, "Pacing"): events per delete transaction and
    // the pause after each; unset, the backend's (retention::default_pacing).
    std::optional<std::size_t> batch_events;
    std::optional<std::chrono::milliseconds> pause;
};

struct serve_config {
    std::string db = std::string(default_db_url);
    std::string host = "127.0.0.1";
    std::uint16_t port = 8091;  // 0: any free port
    std::string collection = "processes";
    int max_age_seconds = 5;
    std::size_t body_limit = std::size_t{200} * 1024;
    std::size_t header_limit = std::size_t{16} * 1024;
    std::chrono::milliseconds stale_after{30000};
    std::vector<std::string> projectors{"process"};  // bundles to run; "process" is the only one
    // User-defined projector definitions applied at start-up (docs/projectors.md):
    // {"file": F} entries of "projectors", then every *.json of "projectors_dir". Relative
    // paths are relative to the config file's folder.
    std::vector<std::string> projector_files;
    std::string projectors_dir;
    std::string config_dir;         // set by load_config_file
    unsigned threads = 0;           // 0: one per hardware thread
    unsigned blocking_threads = 8;  // store reads of HTTP requests (publishes hold no thread)
    std::chrono::milliseconds read_timeout{15000};
    std::chrono::milliseconds shutdown_deadline{5000};
    std::chrono::milliseconds watch_keepalive{15000};  // a quiet watch stream's comment interval
    std::chrono::milliseconds db_wait{
        60000};  // how long start-up waits for an unavailable database
    std::chrono::milliseconds cache_ttl{1000};
    std::size_t cache_entries = 100000;
    std::size_t cache_bytes = std::size_t{256} << 20;
    bool durable = true;  // false: SQLite synchronous=NORMAL (benchmarks, tests)
    bool demo = false;
    auth::auth_policy auth;            // "auth": {"tokens": [...]}; none: open, loopback only
    bool insecure_listen_any = false;  // listen beyond loopback without tokens
    std::chrono::milliseconds ws_send_timeout{
        10000};  // a subscriber that reads nothing this long is dropped
    std::size_t ws_max_message =
        std::size_t{1024} * 1024;                  // bigger client messages close with 1009
    std::vector<ops::slo_rule> slo;                // "slo": rules (docs/operations.md)
    std::chrono::milliseconds slo_interval{1000};  // how often the rules are judged
    retention_settings retention;
};

// {"interval_ms","policies":[{"topic",…policy}],"snapshots"}: strict at every level.
result<retention_settings> parse_retention_config(const json::value& v);

// "auth on (N tokens)" or "auth off": what the start-up log says, so that an operator sees at
// once whether the config they wrote turned authentication on.
std::string auth_summary(const auth::auth_policy& auth);

// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(std::string_view host);

// "HOST:PORT", "[v6]:PORT" or ":PORT" (loopback).
status parse_listen(std::string_view text, serve_config& c);

// Reads a JSON config file over `c`; unknown keys and wrong types are invalid_argument
// (a typo must not silently leave a default in place).
status load_config_file(const std::string& path, serve_config& c);
status apply_config_json(std::string_view text, serve_config& c);

}  // namespace prom::server
