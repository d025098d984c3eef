#include "server/node.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "core/stoppable_sleep.hpp"
#include "core/thread_name.hpp"
#include "http/api.hpp"
#include "http/http_server.hpp"
#include "http/snapshot_cache.hpp"
#include "ops/replay_manager.hpp"
#include "ops/slo.hpp"
#include "prom/process_projectors.hpp"
#include "retention/runner.hpp"
#include "server/demo.hpp"
#include "server/node_metrics.hpp"
#include "userproj_runtime/definition_files.hpp"
#include "userproj_runtime/supervisor.hpp"
#include "ws/gateway.hpp"

namespace prom::server {

namespace {

class node_impl final : public node {
  public:
    explicit node_impl(serve_config c) : config_(std::move(c)) {}
    ~node_impl() override { stop(); }

    status start(std::stop_token stop) {
        if (!config_.auth.enabled() && !is_loopback_host(config_.host) &&
            !config_.insecure_listen_any) {
            return fail(errc::invalid_argument,
                        "refusing to listen on " + config_.host +
                            " without auth tokens: configure \"auth\" tokens, listen on "
                            "127.0.0.1, or pass --insecure-listen-any");
        }
        // Everything that can refuse the start is checked before the database is opened (and
        // created, and given the config's policies and projectors): a refused start changes
        // nothing.
        if (auto ok = http::http_server::check_listen(config_.host, config_.port); !ok) return ok;
        auto definition_files = user_definition_files();
        if (!definition_files) return std::unexpected(definition_files.error());
        if (auto ok = userproj::check_definition_files(*definition_files); !ok) {
            return fail(ok.error().code, "projector definition " + ok.error().message);
        }
        auto opened = open_with_wait(stop);
        if (!opened) return std::unexpected(opened.error());
        // The cache is made before the store's listener can fire and is destroyed after the
        // store (see the member order below).
        cache_ = std::make_unique<http::snapshot_cache>(
            **opened, http::snapshot_cache_options{.max_age_seconds = config_.max_age_seconds,
                                                   .ttl = config_.cache_ttl,
                                                   .max_entries = config_.cache_entries,
                                                   .max_bytes = config_.cache_bytes,
                                                   .private_cache = config_.auth.enabled()});
        store_ = std::move(*opened);
        store_->add_commit_listener(
            [cache = cache_.get()](const std::vector<document>& docs) { cache->on_commit(docs); });

        bool run_process =
            std::ranges::find(config_.projectors, "process") != config_.projectors.end();
        if (run_process) {
            process_projector_options po;
            po.stale_after = config_.stale_after;
            projectors_ = start_process_projectors(*store_, po);
        }
        // Before the supervisor, which moves aliases: held reads of a swapped collection
        // wake and read through the new alias (change_waiters::waker).
        changes_ = std::make_unique<consistency::change_waiters>(*store_);
        aliases_.on_change(changes_->waker());
        if (auto ok = start_user_projectors(*definition_files); !ok) return ok;
        waiters_ = std::make_unique<consistency::cursor_waiters>(*store_);
        if (auto* sup = supervisor_.get()) {
            waiters_->set_group_resolver(
                [sup](const consistency::cursor_condition& c, std::vector<std::string>& groups) {
                    sup->groups_deciding(c, groups);
                });
        }
        feed_ = std::make_unique<consistency::change_feed>(*store_);
        replays_ = std::make_unique<ops::replay_manager>(*store_);
        if (auto ok = start_retention(); !ok) return ok;
        // Without rules too: one look at start resolves the alarms of rules removed from
        // the config (slo_monitor::evaluate).
        start_slo_monitor();
        metrics_source_ = std::make_unique<node_metrics>(*store_, projectors_.get());
        metrics_source_->set_user_projectors(supervisor_.get());
        metrics_source_->set_slo(slo_.get());
        metrics_source_->set_retention(retention_.get());
        api_ = std::make_unique<http::api>(
            *store_, *cache_, http_metrics_,
            http::api_options{.default_collection = config_.collection,
                              .max_age_seconds = config_.max_age_seconds,
                              .body_limit = config_.body_limit,
                              .auth = &config_.auth,
                              .projectors = supervisor_.get(),
                              .aliases = &aliases_,
                              .writers_of = collection_writers(run_process),
                              .waiters = waiters_.get(),
                              .changes = changes_.get(),
                              .feed = feed_.get(),
                              .replays = replays_.get(),
                              .slo = slo_.get(),
                              .retention = retention_.get()},
            metrics_source_.get());
        // The gateway exists before the server accepts anything: its upgrade hook is
        // installed while no network thread runs a connection yet.
        gateway_ = std::make_unique<ws::gateway>(
            *store_, config_.auth,
            ws::gateway_options{.max_message_bytes = config_.ws_max_message,
                                .send_timeout = config_.ws_send_timeout,
                                .feed = feed_.get(),
                                .writers_of = collection_writers(run_process),
                                .aliases = &aliases_});
        auto server = http::http_server::start(
            *api_,
            http::server_options{.host = config_.host,
                                 .port = config_.port,
                                 .threads = config_.threads,
                                 .blocking_threads = config_.blocking_threads,
                                 .body_limit = config_.body_limit,
                                 .header_limit = config_.header_limit,
                                 .read_timeout = config_.read_timeout,
                                 .watch_keepalive = config_.watch_keepalive},
            [gateway = gateway_.get()](http::server_context& c) { gateway->install(c); });
        if (!server) return std::unexpected(server.error());
        server_ = std::move(*server);
        metrics_source_->set_gateway(&gateway_->metrics());
        if (config_.demo) demo_ = start_demo(*store_);
        // The absolute database path: a relative `sqlite:` path depends on the working
        // directory, and the log is where an operator looks for which file is in use.
        // An IPv6 address in brackets, as `listen` takes it; the projectors this node was
        // configured with, the process ones and definition files alike (found from outside:
        // "::1:8080", and "none" beside a file of definitions).
        const bool v6 = config_.host.find(':') != std::string::npos;
        std::string projectors = run_process ? "process" : "";
        if (!config_.projector_files.empty() || !config_.projectors_dir.empty()) {
            projectors += projectors.empty() ? "definition files" : " and definition files";
        }
        spdlog::info(
            "prom serve: listening on {}{}{}:{} (db {}, collection '{}', projectors {}, {})",
            v6 ? "[" : "", config_.host, v6 ? "]" : "", server_->port(),
            describe_db_url(config_.db), config_.collection,
            projectors.empty() ? "none" : projectors, auth_summary(config_.auth));
        return {};
    }

    // A database that is not up yet (PostgreSQL starting beside us) is waited for, up to
    // db_wait; a bad URL, an unwritable file or a refusal that waiting cannot heal (wrong
    // password, unknown role or database: not `unavailable`) fails at once, and so does a
    // stop request: a signal must not wait out the whole db_wait.
    result<std::unique_ptr<store>> open_with_wait(std::stop_token stop) {
        auto opened = open_store(config_.db, {.durable = config_.durable});
        auto give_up = std::chrono::steady_clock::now() + config_.db_wait;
        while (!opened && opened.error().code == errc::unavailable &&
               std::chrono::steady_clock::now() < give_up) {
            spdlog::warn("prom serve: database unavailable ({}); retrying in 1 s",
                         opened.error().message);
            auto next =
                std::min(give_up, std::chrono::steady_clock::now() + std::chrono::seconds(1));
            if (!sleep_until_stopped(stop, next)) {
                return fail(errc::cancelled, "stopped while waiting for the database (" +
                                                 opened.error().message + ")");
            }
            opened = open_store(config_.db, {.durable = config_.durable});
        }
        return opened;
    }

    std::uint16_t port() const override { return server_ ? server_->port() : 0; }
    store& storage() override { return *store_; }
    const serve_config& config() const override { return config_; }

    void stop() override {
        std::lock_guard lock(stop_mu_);
        if (stopped_) return;
        stopped_ = true;
        if (gateway_) gateway_->shutdown();
        // Waiting reads are answered at once, as at their deadline, so the server's stop does
        // not wait out their `wait`.
        if (waiters_) waiters_->stop();
        if (changes_) changes_->stop();
        if (server_) server_->stop(config_.shutdown_deadline);
        if (demo_) demo_->stop();
        if (slo_thread_.joinable()) {
            slo_thread_.request_stop();
            slo_thread_.join();
        }
        if (replays_) replays_->stop();
        if (retention_) retention_->stop();
        if (projectors_) projectors_->stop();
        if (supervisor_) supervisor_->stop();
        if (feed_) feed_->stop();  // after the server: its streams unwatched as they ended
        if (server_) spdlog::info("prom serve: stopped");
    }

  private:
    // The config's policies join the stored ones (the route's and the CLI's), then the
    // runner starts (docs/retention.md).
    status start_retention() {
        auto stored = retention::load_policies(*store_);
        if (!stored)
            return fail(stored.error().code, "retention policies: " + stored.error().message);
        for (const auto& p : config_.retention.policies) {
            // The config's policy replaces the stored one of its pattern, on every node that
            // starts with it: said loudly when that undoes a change made with PUT or the CLI.
            const std::string wanted = canonical_json(retention::to_json(p));
            for (const auto& old : *stored) {
                if (old.pattern != p.pattern) continue;
                const std::string had = canonical_json(retention::to_json(old));
                if (had != wanted) {
                    spdlog::warn(
                        "prom serve: the config's retention policy for '{}' replaces the stored "
                        "one, which differed (set with PUT /topics/{{topic}}/policy or prom topic "
                        "policy?): {} -> {}",
                        p.pattern, had, wanted);
                }
            }
            if (auto ok = retention::put_policy(*store_, p); !ok) {
                return fail(ok.error().code, "retention policy '" + p.pattern +
                                                 "' of the config: " + ok.error().message);
            }
            spdlog::info("prom serve: retention policy for '{}' stored from the config: {}",
                         p.pattern, canonical_json(retention::to_json(p)));
        }
        const auto backend = retention::default_pacing(config_.db);
        const auto pause = config_.retention.pause
                               ? std::chrono::microseconds(*config_.retention.pause)
                               : backend.pause;
        retention_ = std::make_unique<retention::runner>(
            *store_,
            retention::runner_options{
                .interval = config_.retention.interval,
                .snapshots = config_.retention.snapshots,
                .batch_events = config_.retention.batch_events.value_or(backend.batch_events),
                .pause = pause});
        retention_->start();
        return {};
    }

    // The SLO rules are judged once per slo_interval on a thread of their own; error rates
    // come from the projectors running on this node (docs/operations.md).
    void start_slo_monitor() {
        auto* built_in = projectors_.get();
        auto* user = supervisor_.get();
        ops::counts_source counts =
            [built_in, user](std::string_view topic,
                             std::string_view group) -> std::optional<ops::group_counts> {
            if (built_in) {
                for (const projector* p :
                     {&built_in->heartbeat_projector(), &built_in->txn_projector()}) {
                    if (p->options().topic == topic && p->options().group == group) {
                        return ops::group_counts{p->metrics().applied.load(),
                                                 p->metrics().errors.load()};
                    }
                }
            }
            if (user) {
                if (auto c = user->counts(topic, group)) {
                    return ops::group_counts{c->applied, c->errors};
                }
            }
            return std::nullopt;
        };
        slo_ = std::make_unique<ops::slo_monitor>(*store_, config_.slo, std::move(counts));
        slo_thread_ = std::jthread([this](std::stop_token stop) {
            name_this_thread("prom-slo");
            while (!stop.stop_requested()) {
                auto ok = slo_->evaluate(now_ms());
                if (!ok) spdlog::warn("prom serve: SLO check: {}", ok.error().message);
                // With no rule nothing can fire: one look that succeeded is enough.
                if (ok && config_.slo.empty()) break;
                if (!sleep_for_unless_stopped(stop, config_.slo_interval)) break;
            }
        });
    }

    // Applies the definition files of the config, then runs the registry's definitions.
    // Which projectors write a collection (read-your-writes): the built-in process
    // projector when it runs here, and the user-defined projectors of the registry.
    consistency::collection_writers_fn collection_writers(bool run_process) {
        return [run_process, sup = supervisor_.get()](std::string_view logical) {
            std::vector<consistency::collection_writer> out;
            if (run_process &&
                (logical == processes_collection || logical == host_stats_collection)) {
                out.push_back({"process.txn", std::string(process_state_topic),
                               std::string(process_txn_group)});
            }
            if (sup) {
                auto user = sup->writers_of(logical);
                out.insert(out.end(), user.begin(), user.end());
            }
            return out;
        };
    }

    // The config's projector files and the *.json files of its projectors_dir, relative
    // paths taken from the config file's directory.
    result<std::vector<std::string>> user_definition_files() const {
        std::vector<std::string> files;
        auto place = [&](const std::string& p) {
            std::filesystem::path path(p);
            return path.is_relative() && !config_.config_dir.empty()
                       ? (std::filesystem::path(config_.config_dir) / path).string()
                       : p;
        };
        // One file named twice (in `projectors` and found in projectors_dir, or spelt two
        // ways) is one definition, read once: it was refused as two files of one projector,
        // with a message naming the same file twice (found from outside).
        std::set<std::filesystem::path> seen;
        auto add = [&](const std::string& f) {
            std::error_code ec;
            auto same = std::filesystem::weakly_canonical(f, ec);
            if (ec || seen.insert(same).second) files.push_back(f);
        };
        files.reserve(config_.projector_files.size());
        for (const auto& f : config_.projector_files) add(place(f));
        if (!config_.projectors_dir.empty()) {
            auto in_dir = userproj::definition_files_in(place(config_.projectors_dir));
            if (!in_dir) return std::unexpected(in_dir.error());
            for (const auto& f : *in_dir) add(f);
        }
        return files;
    }

    status start_user_projectors(const std::vector<std::string>& files) {
        if (auto ok = userproj::apply_definition_files(*store_, files); !ok) {
            return fail(ok.error().code, "projector definition " + ok.error().message);
        }
        supervisor_ = std::make_unique<userproj::supervisor>(*store_, aliases_);
        supervisor_->start();
        supervisor_->wait_synced(std::chrono::seconds(5));
        return {};
    }

    serve_config config_;
    // Destruction runs bottom-up: the server and the writers go before the store, and the
    // store (whose commit listener points at the cache) before the cache.
    std::unique_ptr<http::snapshot_cache> cache_;
    std::unique_ptr<store> store_;
    http::http_metrics http_metrics_;
    std::unique_ptr<process_projectors> projectors_;
    userproj::collection_aliases aliases_;  // read by the api, written by the supervisor
    std::unique_ptr<userproj::supervisor> supervisor_;
    std::unique_ptr<consistency::cursor_waiters> waiters_;  // the api's sessions wait on it
    std::unique_ptr<consistency::change_waiters> changes_;  // and on this (blocking reads)
    std::unique_ptr<consistency::change_feed> feed_;        // watches (SSE, WebSocket)
    std::unique_ptr<ops::replay_manager> replays_;
    std::unique_ptr<retention::runner> retention_;  // stopped in stop(), before the store
    std::unique_ptr<ops::slo_monitor> slo_;
    std::jthread slo_thread_;  // uses slo_ and the store; joined in stop()
    std::unique_ptr<node_metrics> metrics_source_;
    std::unique_ptr<http::api> api_;
    std::unique_ptr<demo_publisher> demo_;
    std::unique_ptr<http::http_server> server_;
    std::unique_ptr<ws::gateway> gateway_;  // after server_: gone before it, uses its context
    std::mutex stop_mu_;
    bool stopped_ = false;
};

}  // namespace

result<std::unique_ptr<node>> node::start(serve_config config, std::stop_token stop) {
    auto n = std::make_unique<node_impl>(std::move(config));
    if (auto ok = n->start(std::move(stop)); !ok) {
        spdlog::error("prom serve: cannot start: {}", ok.error().message);
        return std::unexpected(ok.error());
    }
    return std::unique_ptr<node>(std::move(n));
}

}  // namespace prom::server
