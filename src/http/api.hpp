// The routes of `prom serve` (docs/http-api.md) behind one call: api::handle.
//
// Handlers see a Beast-free `request` and return a `response`; the session does the I/O.
// Answers that need no store I/O (cache hits, 304s, routing errors) are given on the
// network thread; POST /publish is checked there and its events handed to the store's
// writer without blocking (begin_publish, finish_publish); the others (cache misses,
// /list, /at, /healthz, /metrics, /projectors) block on the store and are run by the session
// on a blocking pool.
//
// Thread-safe; must not outlive the store, cache and metrics it was given.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "auth/auth_policy.hpp"
#include "consistency/change_feed.hpp"
#include "consistency/change_waiters.hpp"
#include "consistency/collection_writers.hpp"
#include "consistency/cursor_waiters.hpp"
#include "http/http_metrics.hpp"
#include "http/request.hpp"
#include "http/response.hpp"
#include "http/snapshot_cache.hpp"
#include "prom/store.hpp"

namespace prom::userproj {
class supervisor;
class collection_aliases;
}  // namespace prom::userproj

namespace prom::ops {
class replay_manager;
class slo_monitor;
}  // namespace prom::ops

namespace prom::retention {
class runner;
}

namespace prom::http {

struct api_options {
    std::string default_collection = "processes";
    int max_age_seconds = 5;
    std::size_t body_limit = std::size_t{200} * 1024;
    // Tokens and permissions; null or disabled: everything is allowed. Must outlive the api.
    const auth::auth_policy* auth = nullptr;
    // Runs user-defined projectors on this node: the /projectors routes report its counters
    // and wait for it to pick a change up. Null: the routes still work on the registry.
    userproj::supervisor* projectors = nullptr;
    // Collection aliases of rebuilt projectors (logical -> physical), resolved by the
    // snapshot and list routes. Null: none. Must outlive the api.
    const userproj::collection_aliases* aliases = nullptr;
    // Read-your-writes (docs/http-api.md): which projectors write a collection, and the
    // waiters that hold requests until their cursors move. Either null/empty: `after` and
    // `wait_for` are answered 422 (nothing is known to write any collection).
    consistency::collection_writers_fn writers_of;
    consistency::cursor_waiters* waiters = nullptr;
    // Blocking reads (If-None-Match + Prefer: wait=N). Null: Prefer is ignored.
    consistency::change_waiters* changes = nullptr;
    // Watches (GET /collections/{c}/watch, docs/watches.md). Null: the route answers 501.
    consistency::change_feed* feed = nullptr;
    // Runs POST /replays and reports them in GET /replays; null: those routes answer 503.
    ops::replay_manager* replays = nullptr;
    // SLO alarms: /healthz reports "degraded" while one fires. Null: no rules.
    const ops::slo_monitor* slo = nullptr;
    // Counts the passes of POST /topics/{topic}/compact in /metrics; null: not counted.
    retention::runner* retention = nullptr;
};

// More metrics for /metrics (projectors, consumer lag), written by the server node.
class metrics_source {
  public:
    virtual ~metrics_source() = default;
    // Called on a blocking thread: may read the store.
    virtual void append_metrics(std::string& out) = 0;
};

class api {
  public:
    api(store& s, snapshot_cache& cache, http_metrics& metrics, api_options options,
        metrics_source* extra = nullptr);

    // may_block == false: the answer, or nullopt when it needs the store (call again with
    // may_block == true from a thread that may block).
    std::optional<response> handle(const request& r, bool may_block);

    // POST /publish in two halves, for the network threads, which must not wait for a
    // commit: begin_publish checks the request on the calling thread and either answers it
    // (bad input, refused: `answer`) or hands back the events, which the caller gives to
    // append_async; finish_publish renders what the store answered, on any thread.
    // handle(r, true) does both around a blocking append.
    struct publish_start {
        std::optional<response> answer;
        std::vector<event_input> events;
        std::chrono::steady_clock::time_point started;
        // ?wait_for=COLLECTION: its writers, and how long to wait for them once committed.
        std::optional<std::string> wait_for;
        std::vector<consistency::collection_writer> wait_writers;
        std::chrono::seconds wait{};
        std::vector<std::string> event_topics;  // kept: `events` goes to the store
        // Filled once committed (publish_conditions): what the answer waits for.
        std::vector<consistency::cursor_condition> conditions;
    };
    publish_start begin_publish(const request& r);
    void append_async(std::vector<event_input> events, append_callback done) {
        store_.append_async(std::move(events), std::move(done));
    }
    response finish_publish(result<std::vector<append_result>> appended,
                            std::chrono::steady_clock::time_point started);
    // Whether handle() routes `r` to POST /publish (true only for a POST to exactly /publish).
    static bool is_publish(const request& r);
    // After the commit of a publish with wait_for: what to wait for (one condition per
    // published topic that a writer of the collection consumes, at its highest seq).
    static std::vector<consistency::cursor_condition> publish_conditions(
        const publish_start& begun, const std::vector<append_result>& appended);

    // Read-your-writes on the network thread, before handle(): a read with `after`
    // (query or Prom-After) is checked here and either answered (bad input 400, refused,
    // 422 when no projector of the collection consumes a topic) or handed back as the
    // conditions to wait for; no `after`: nothing to do (`conditions` empty, no answer).
    // Never blocks.
    struct read_wait {
        route_id route = route_id::unknown;
        std::optional<response> answer;
        std::vector<consistency::cursor_condition> conditions;
        std::chrono::steady_clock::time_point deadline;
    };
    read_wait begin_read_after(const request& r);
    // 503 not_caught_up for a wait that timed out (Retry-After, the projector, its cursor,
    // the wanted seq); `results` (a publish's answer body) is kept in it when given.
    response not_caught_up(const consistency::cursor_wait_outcome& o, route_id route,
                           std::string_view results_body = {});
    consistency::cursor_waiters* waiters() const { return options_.waiters; }

    // A blocking read (docs/http-api.md, "Blocking reads"): a GET/HEAD of a document or a
    // list with If-None-Match and `Prefer: wait=N` (1..60 s; other preferences and a bad
    // value are ignored, as RFC 7240 asks). What to watch: the physical collection and the
    // key ("" for a list). Never blocks.
    struct long_poll {
        std::string collection;
        std::string key;
        std::chrono::seconds wait{};
    };
    std::optional<long_poll> long_poll_of(const request& r) const;
    consistency::change_waiters* changes() const { return options_.changes; }
    // True when tokens are configured (auth on). Without them a request is served only
    // under a loopback Host (auth/browser_guard.hpp).
    bool tokens_required() const { return options_.auth && options_.auth->enabled(); }

    // A watch (docs/watches.md): GET /collections/{c}/watch?key=K|prefix=P, with an
    // optional Last-Event-ID. begin_watch checks it on the network thread (never blocks):
    // either an answer (400, 401/403, 404, 405, 501) or what to open; open_watch then
    // decides, on a blocking thread, where the stream starts (or answers 400).
    struct watch_start {
        std::optional<response> answer;
        std::string collection;  // physical (aliases resolved)
        std::string shown;       // as the client named it, which changes carry
        consistency::watch_filter filter;
        std::optional<seq_t> last_event_id;
        bool has_writers = false;
    };
    static bool is_watch(const request& r);
    watch_start begin_watch(const request& r);
    result<seq_t> open_watch(const watch_start& w);
    consistency::change_feed* feed() const { return options_.feed; }

    http_metrics& metrics() { return metrics_; }
    const api_options& options() const { return options_; }

  private:
    std::optional<response> route(const request& r, bool may_block);
    std::optional<response> snap(const request& r, route_id route, std::string_view collection,
                                 std::string_view key, bool may_block);
    response list(const request& r, route_id route, std::string_view collection,
                  std::string_view encoded_query);
    response publish(const request& r);
    response healthz(const request& r);
    response at(const request& r, std::string_view topic, std::string_view key,
                std::string_view encoded_query);
    response at_all(const request& r, std::string_view topic, std::string_view encoded_query);
    // GET /, /ui, /ui/ and /ui/assets/{file} (api_ui.cpp); nullopt: no such file (404).
    std::optional<response> ui(const request& r, std::string_view path);
    // The 401/403 for a request the token does not allow, or nullopt when it may proceed.
    // 401 when tokens are configured and the request has no valid one, before anything of
    // the request is looked at (a route that reads its body first would answer 400).
    std::optional<response> unauthenticated(const request& r, route_id route) const;
    std::optional<response> refused(const request& r, auth::action what, std::string_view name,
                                    route_id route) const;
    response metrics_page(const request& r);
    // /projectors and /projectors/{name} (api_projectors.cpp); `name` empty for the list.
    response projectors(const request& r, route_id route, std::string_view name);
    response list_projectors(const request& r);
    response put_projector(const request& r, std::string_view name);
    // The operations routes (api_admin.cpp): `a`, `b` are the decoded path parameters
    // ({topic}, {group}), `query` the raw query string.
    response admin(const request& r, route_id route, std::string_view a, std::string_view b,
                   std::string_view query);
    // 401/403 unless the token has some admin permission; sets `g` to its grant (null when
    // auth is off).
    std::optional<response> admin_refused(const request& r, route_id route,
                                          const auth::grant*& g) const;
    // The retention routes (api_retention.cpp): `a` is the decoded {topic} (or pattern, or
    // collection), `b` the decoded {key}.
    response retention_route(const request& r, route_id route, std::string_view a,
                             std::string_view b, std::string_view query);
    response put_topic_policy(const request& r, std::string_view pattern);
    // /schemas and /schemas/{topic} (api_schemas.cpp); `topic` empty for the list.
    response schemas(const request& r, route_id route, std::string_view topic);
    response put_schema(const request& r, std::string_view topic);

    store& store_;
    snapshot_cache& cache_;
    http_metrics& metrics_;
    api_options options_;
    metrics_source* extra_;
};

}  // namespace prom::http
