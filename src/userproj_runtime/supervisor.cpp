#include "userproj_runtime/supervisor.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "core/thread_name.hpp"
#include "prom/user_projector.hpp"
#include "userproj_runtime/guarded_transaction.hpp"

namespace prom::userproj {

// One generation of one definition (its serving version, or its rebuild) on this node.
struct supervisor::runner {
    std::shared_ptr<const projector_definition> def;
    std::string group;
    collection_map collections;  // what the handler's collection_for answers
    // Its projectors (one per topic of a pattern) write the same documents: one batch at a
    // time, or on PostgreSQL they deadlock (projector.hpp, batch_mutex).
    std::shared_ptr<std::mutex> batches = std::make_shared<std::mutex>();
    // Last member: the projectors' threads use the members above until they are destroyed.
    std::map<std::string, std::unique_ptr<projector>, std::less<>> by_topic;
};

namespace {

// Wraps the engine's handler so that it sees a guarded_transaction (guarded_transaction.hpp).
// The budget is the projector's, reset by its on_batch at each transaction.
struct guarded_handler {
    projector_handler inner;
    const collection_map* own;
    const collection_aliases* aliases;
    std::shared_ptr<write_budget> budget;
    status operator()(const event& e, transaction& txn) const {
        guarded_transaction g(txn, *own, *aliases, *budget);
        return inner(e, g);
    }
};

// The labels of one projector's metrics: projector="NAME",topic="TOPIC".
std::string projector_labels(std::string_view name, std::string_view topic) {
    std::string labels = "projector=\"";
    labels += name;
    labels += "\",topic=\"";
    labels += topic;
    labels += '"';
    return labels;
}

// The physical collection of a name a handler uses: its own collections as its registry
// entry maps them (a rebuild writes shadows), any other (a Lua handler's tx:get of a
// collection another projector writes) through the aliases, as a client's read would be,
// so that a rebuild swapped under it is read where its documents now are.
struct mapped_collection {
    const collection_map* own;
    const collection_aliases* aliases;
    std::string operator()(std::string_view logical) const {
        if (auto it = own->find(logical); it != own->end()) return it->second;
        std::shared_ptr<const collection_map> hold;
        return std::string(aliases->resolve(logical, hold));
    }
};

}  // namespace

supervisor::supervisor(store& s, collection_aliases& aliases, supervisor_options options)
    : store_(s), aliases_(aliases), options_(options) {}

supervisor::~supervisor() { stop(); }

std::vector<consistency::collection_writer> supervisor::writers_of(std::string_view logical) const {
    std::vector<consistency::collection_writer> out;
    prom::lock_guard lock(mu_);
    for (const auto& [name, m] : managed_) {
        const bool serving = m.serving && m.serving->def;
        const projector_definition* def = serving ? m.serving->def.get() : m.known_def.get();
        std::string group = serving ? m.serving->group : m.known_group;
        if (m.swap_committed && m.rebuild && m.rebuild->def) {
            def = m.rebuild->def.get();  // swapped in: serving from here on
            group = m.swap_group;
        }
        if (!def) continue;
        if (std::ranges::find(def->collections, logical) == def->collections.end()) continue;
        out.push_back({name, def->topic, std::move(group)});
    }
    return out;
}

void supervisor::groups_deciding(const consistency::cursor_condition& c,
                                 std::vector<std::string>& groups) const {
    prom::lock_guard lock(mu_);
    auto it = managed_.find(c.projector);
    if (it == managed_.end()) return;
    const managed& m = it->second;
    if (m.swap_committed) {
        groups.push_back(m.swap_group);
        return;
    }
    // The group serving now, not the one the condition was made with: a wait begun before
    // a swap is decided by the new group after it, also once the runners were replaced.
    std::string serving = m.serving ? m.serving->group : m.known_group;
    if (serving.empty()) serving = c.group;
    // Another projector's condition under the same name (the built-in "process.txn"):
    // its groups are not this definition's.
    if (base_group(c.group) != base_group(serving)) return;
    if (!m.swap_group.empty() && m.swap_group != serving) groups.push_back(m.swap_group);
    groups.push_back(std::move(serving));
}

void supervisor::start() {
    prom::lock_guard lock(sync_mu_);
    if (thread_.joinable() || stopping_) return;
    thread_ = std::thread([this] { run(); });
}

void supervisor::stop() {
    {
        prom::lock_guard lock(sync_mu_);
        stopping_ = true;
    }
    sync_cv_.notify_all();
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
    std::map<std::string, managed, std::less<>> gone;
    {
        prom::lock_guard lock(mu_);
        gone.swap(managed_);
    }
    gone.clear();  // stops every projector, outside the lock
}

bool supervisor::wait_synced(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    prom::unique_lock lock(sync_mu_);
    auto target = started_ + 1;
    while (finished_ < target && !stopping_) {
        if (sync_cv_.wait_until(lock.native(), deadline) == std::cv_status::timeout) break;
    }
    return finished_ >= target && !stopping_;
}

void supervisor::run() {
    name_this_thread("prom-supervisor");
    for (;;) {
        auto began = std::chrono::steady_clock::now();
        {
            prom::lock_guard lock(sync_mu_);
            if (stopping_) return;
            ++started_;
        }
        auto seen = store_.change_version();
        try {
            tick();
        } catch (const std::exception& ex) {
            spdlog::error("projector supervisor: {}", ex.what());
        }
        {
            prom::lock_guard lock(sync_mu_);
            ++finished_;
        }
        sync_cv_.notify_all();
        store_.wait_for_change(seen, options_.max_interval);
        prom::unique_lock lock(sync_mu_);
        while (!stopping_ && sync_cv_.wait_until(lock.native(), began + options_.min_interval) !=
                                 std::cv_status::timeout) {
        }
    }
}

std::unique_ptr<supervisor::runner> supervisor::make_runner(const json::object& source,
                                                            const std::string& group,
                                                            const collection_map& collections,
                                                            std::string& error) {
    auto parsed = parse_projector_definition(json::value(source));
    if (!parsed) {
        error = "the stored definition does not parse on this node: " + parsed.error().message;
        return nullptr;
    }
    auto r = std::make_unique<runner>();
    r->def = std::make_shared<const projector_definition>(std::move(*parsed));
    r->group = group;
    r->collections = collections;
    return r;
}

void supervisor::cover_topics(runner& r, const std::vector<topic_info>& topics) {
    for (const auto& t : topics) {
        if (!covers_topic(r.def->topic, t.topic) || r.by_topic.contains(t.topic)) continue;
        projector_options po;
        po.topic = t.topic;
        po.group = r.group;
        auto budget =
            std::make_shared<write_budget>(write_budget{.limit = options_.write_budget_bytes});
        po.handler = guarded_handler{
            make_user_handler(r.def,
                              {.collection_for = mapped_collection{&r.collections, &aliases_}}),
            &r.collections, &aliases_, budget};
        po.on_batch = [budget] { budget->used = 0; };
        po.batch_mutex = r.batches;
        // User code may be slow: it runs before the write transaction, not inside it.
        po.evaluate_before_writing = true;
        // A definition's `latest` is pinned as cursors when it is applied (registry.cpp): a
        // topic without a cursor here appeared later, or is rebuilt, and is read whole.
        po.from = start_from::earliest;
        po.batch_size = options_.batch_size;
        po.retries = options_.retries;
        po.backoff = options_.backoff;
        po.poison = on_poison::dead_letter;
        po.lease_ttl = options_.lease_ttl;
        po.fail_after_dead_letters = options_.fail_after_dead_letters;
        // The error text carried from retired runners of the name may quote an erased key's
        // payload too: it goes with the marker (it does not say which keys it is about).
        po.on_erasure_marker = [this, name = r.def->name, topic = t.topic](std::string_view) {
            prom::lock_guard lock(mu_);
            if (auto it = carried_.find({name, topic}); it != carried_.end()) {
                it->second.last_error.clear();
            }
        };
        r.by_topic.emplace(t.topic, start_transactional_projector(store_, std::move(po)));
    }
}

void supervisor::check_failures(const registry_entry& e, managed& m) {
    if (m.reported) return;
    for (bool rebuild : {false, true}) {
        runner* r = rebuild ? m.rebuild.get() : m.serving.get();
        if (!r) continue;
        for (const auto& [topic, p] : r->by_topic) {
            if (!p->metrics().failed.load()) continue;
            std::string why = "topic " + topic + ": " + p->metrics().last_error.get();
            auto ok = rebuild ? abandon_rebuild(store_, e.name, e.generation, why)
                              : mark_failed(store_, e.name, e.generation, why);
            if (!ok) {
                spdlog::warn("projector {}: cannot record its failure: {}", e.name,
                             ok.error().message);
                return;  // tried again at the next read
            }
            spdlog::error("projector {}{}: failed: {}", e.name, rebuild ? " (rebuild)" : "", why);
            m.reported = true;
            return;
        }
    }
}

void supervisor::try_swap(const registry_entry& e, managed& m,
                          const std::vector<topic_info>& topics) {
    const runner& r = *m.rebuild;
    for (const auto& t : topics) {
        if (!covers_topic(r.def->topic, t.topic)) continue;
        // A cheap look first, so that a rebuild still catching up costs no write transaction.
        auto c = store_.cursor(t.topic, r.group);
        if (!c || c->value_or(seq_t{}) < t.last_seq) return;
    }
    // The real check, inside the swap's transaction: the rebuild's cursors are read there
    // (on PostgreSQL that locks them, so its projectors cannot move meanwhile), then each
    // topic's last seq after them. Topics are listed again, so that one that appeared since
    // the look above (which the rebuild has not consumed yet) holds the swap back.
    auto caught_up = [this, &r](transaction& txn) -> result<bool> {
        auto now = store_.topics();
        if (!now) return std::unexpected(now.error());
        for (const auto& t : *now) {
            if (!covers_topic(r.def->topic, t.topic)) continue;
            auto c = txn.cursor(t.topic, r.group);
            if (!c) return std::unexpected(c.error());
            auto last = store_.topic(t.topic);
            if (!last) return std::unexpected(last.error());
            if (*last && c->value_or(seq_t{}) < (*last)->last_seq) return false;
        }
        return true;
    };
    {
        prom::lock_guard lock(mu_);
        m.swap_group = r.group;  // from here on waits need the rebuild's cursors too
    }
    auto swapped = complete_rebuild(store_, e.name, e.generation, caught_up);
    if (!swapped || !*swapped) {
        if (!swapped) {
            spdlog::warn("projector {}: rebuild swap failed: {}", e.name, swapped.error().message);
        }
        prom::lock_guard lock(mu_);
        m.swap_group.clear();
        return;
    }
    spdlog::info("projector {}: rebuild to version {} swapped in", e.name, e.rebuild->version);
    // This node reads through the new aliases at once, not at its next registry read.
    if (auto now = load_registry(store_)) aliases_.replace(read_aliases(*now));
    prom::lock_guard lock(mu_);
    m.swap_committed = true;
}

void supervisor::forget_retired_groups(const std::vector<registry_entry>& entries) {
    // At most every few seconds (listing cursors reads each one's lag): a node still running
    // an old version for a moment may write its cursor again after the first deletion.
    const auto now = std::chrono::steady_clock::now();
    if (now - last_retired_check_ < std::chrono::seconds(5)) return;
    last_retired_check_ = now;
    if (entries.empty()) return;
    auto cursors = store_.list_cursors();
    if (!cursors) return;
    std::vector<std::pair<std::string, std::string>> stale;  // topic, group
    // A deleted definition keeps its group (created again, it goes on from there) but not a
    // rebuild it had pending (the tombstone drops it), whose lag would only grow.
    for (const auto& e : entries) {
        const std::string base = base_group(e.group);
        for (const auto& c : *cursors) {
            const bool ours = c.group == base || c.group.starts_with(base + "@");
            if (!ours || c.group == e.group || (e.rebuild && c.group == e.rebuild->group)) {
                continue;
            }
            stale.emplace_back(c.topic, c.group);
        }
    }
    for (const auto& [topic, group] : stale) {
        if (auto gone = store_.delete_cursor(topic, group); !gone) {
            spdlog::warn("projector supervisor: cannot delete the retired cursor {}/{}: {}", topic,
                         group, gone.error().message);
        }
    }
}

void supervisor::tick() {
    auto entries = load_registry(store_);
    if (!entries) {
        spdlog::warn("projector supervisor: cannot read the registry: {}", entries.error().message);
        return;
    }
    aliases_.replace(read_aliases(*entries));
    {
        prom::lock_guard lock(mu_);
        failed_.clear();
        for (const auto& e : *entries) {
            if (!e.deleted && e.failed) failed_.insert(e.name);
        }
    }
    std::vector<topic_info> topics;
    if (std::ranges::any_of(*entries, [](const auto& e) { return !e.deleted && !e.failed; })) {
        auto t = store_.topics();
        if (!t) {
            spdlog::warn("projector supervisor: cannot list topics: {}", t.error().message);
            return;
        }
        topics = std::move(*t);
    }

    // First retire what changed or went away, so that a new generation's projectors do not
    // wait for the old ones' leases.
    std::vector<std::unique_ptr<runner>> retired;
    std::vector<std::pair<std::string, std::unique_ptr<runner>>> retired_serving;
    std::set<std::string, std::less<>> live;
    {
        prom::lock_guard lock(mu_);
        for (const auto& e : *entries) {
            if (e.deleted) continue;
            live.insert(e.name);
            managed& m = managed_[e.name];
            if (m.generation == e.generation) continue;
            if (auto parsed = parse_projector_definition(json::value(e.definition))) {
                m.known_def = std::make_shared<const projector_definition>(std::move(*parsed));
                m.known_group = e.group;
            }
            retired_serving.emplace_back(e.name, std::move(m.serving));
            // A rebuild swapped in serves now (its group is the entry's): its counts are the
            // serving version's from here on (found from outside: they were dropped at the
            // swap). An abandoned rebuild's are not.
            if (m.rebuild && m.rebuild->group == e.group) {
                retired_serving.emplace_back(e.name, std::move(m.rebuild));
            } else {
                retired.push_back(std::move(m.rebuild));
            }
            m.generation = e.generation;
            m.error.clear();
            m.reported = false;
            m.swap_group.clear();
            m.swap_committed = false;
        }
        for (auto it = managed_.begin(); it != managed_.end();) {
            if (live.contains(it->first)) {
                ++it;
                continue;
            }
            retired_serving.emplace_back(it->first, std::move(it->second.serving));
            retired.push_back(std::move(it->second.rebuild));
            it = managed_.erase(it);
        }
    }
    // Stops those projectors (and releases their leases), outside the lock.
    for (auto& [name, r] : retired_serving) retire_serving(name, std::move(r));
    retired.clear();
    if (!retired_serving.empty()) last_retired_check_ = {};  // something changed: look now
    forget_retired_groups(*entries);

    for (const auto& e : *entries) {
        if (e.deleted) continue;
        // A failed definition runs no more, but its collections keep what it applied, so
        // reads with `after` wait for its cursor (writers_of, from known_def) rather than
        // answer 422 "no projector" (found from outside).
        if (e.failed) continue;
        managed* m = nullptr;
        {
            prom::lock_guard lock(mu_);
            m = &managed_[e.name];  // only this thread adds or erases entries
        }
        if (!m->serving && m->error.empty()) {
            std::string why;
            auto r = make_runner(e.definition, e.group, e.collections, why);
            prom::lock_guard lock(mu_);
            m->serving = std::move(r);
            m->error = why;
        }
        if (e.rebuild && !m->rebuild && m->error.empty()) {
            std::string why;
            auto r =
                make_runner(e.rebuild->definition, e.rebuild->group, e.rebuild->collections, why);
            prom::lock_guard lock(mu_);
            m->rebuild = std::move(r);
            m->error = why;
        }
        {
            prom::lock_guard lock(mu_);
            if (m->serving) cover_topics(*m->serving, topics);
            if (m->rebuild) cover_topics(*m->rebuild, topics);
        }
        check_failures(e, *m);
        if (e.rebuild && m->rebuild && !m->reported) try_swap(e, *m, topics);
    }
}

void supervisor::retire_serving(const std::string& name, std::unique_ptr<runner> r) {
    if (!r) return;
    for (auto& [topic, p] : r->by_topic) p->stop();  // its counters are final after this
    prom::lock_guard lock(mu_);
    for (const auto& [topic, p] : r->by_topic) {
        const auto& pm = p->metrics();
        auto& c = carried_[{name, topic}];
        c.applied += pm.applied.load();
        c.errors += pm.errors.load();
        c.dead_lettered += pm.dead_lettered.load();
        c.apply_latency.add(pm.apply_latency);
        if (auto last = pm.last_error.get(); !last.empty()) c.last_error = std::move(last);
    }
}

void supervisor::append_metrics(std::string& out) const {
    struct row {
        std::string labels;
        std::uint64_t applied, errors, dead_lettered, failed;
    };
    std::vector<row> rows;
    {
        prom::lock_guard lock(mu_);
        // What stopped versions counted, plus what the serving ones count now: a counter
        // never goes back while the process runs, across new versions and removals.
        std::map<std::pair<std::string, std::string>, row> by_label;
        for (const auto& [at, c] : carried_) {
            by_label[at] = {"", c.applied, c.errors, c.dead_lettered, 0};
        }
        for (const auto& [name, m] : managed_) {
            if (!m.serving) continue;
            for (const auto& [topic, p] : m.serving->by_topic) {
                const auto& pm = p->metrics();
                row& r = by_label[{name, topic}];
                r.applied += pm.applied.load();
                r.errors += pm.errors.load();
                r.dead_lettered += pm.dead_lettered.load();
                r.failed = pm.failed.load() ? 1u : 0u;
            }
        }
        for (auto& [at, r] : by_label) {
            // A definition the registry marks failed has no projectors left on any node.
            if (failed_.contains(at.first)) r.failed = 1;
            // Names and topics are [A-Za-z0-9_.:-]: nothing to escape in a label.
            r.labels = "{" + projector_labels(at.first, at.second) + "} ";
            rows.push_back(std::move(r));
        }
    }
    struct metric {
        std::string_view name, type, help;
        std::uint64_t row::*field;
    };
    for (const metric& m :
         {metric{"prom_user_projector_applied_total", "counter",
                 "Events applied by a user-defined projector on this node.", &row::applied},
          metric{"prom_user_projector_errors_total", "counter",
                 "Failed attempts (handler or storage) of a user-defined projector.", &row::errors},
          metric{"prom_user_projector_dead_lettered_total", "counter",
                 "Events a user-defined projector sent to <topic>.dlq.", &row::dead_lettered},
          metric{"prom_user_projector_failed", "gauge",
                 "1 when the projector stopped after consecutive dead letters.", &row::failed}}) {
        out += "# HELP ";
        out += m.name;
        out += ' ';
        out += m.help;
        out += "\n# TYPE ";
        out += m.name;
        out += ' ';
        out += m.type;
        out += '\n';
        for (const auto& r : rows) {
            out += m.name;
            out += r.labels;
            out += std::to_string(r.*m.field);
            out += '\n';
        }
    }
    // Batch apply latency (docs/operations.md), rendered under the lock: histograms are
    // atomics and do not copy.
    out +=
        "# HELP prom_user_projector_apply_duration_seconds Time to apply and commit one batch.\n"
        "# TYPE prom_user_projector_apply_duration_seconds histogram\n";
    // Stopped versions' batches are added in, as for the counters above.
    std::map<std::pair<std::string, std::string>, latency_histogram> merged;
    prom::lock_guard lock(mu_);
    for (const auto& [at, c] : carried_) merged[at].add(c.apply_latency);
    for (const auto& [name, m] : managed_) {
        if (!m.serving) continue;
        for (const auto& [topic, p] : m.serving->by_topic) {
            merged[{name, topic}].add(p->metrics().apply_latency);
        }
    }
    for (const auto& [at, h] : merged) {
        h.render(out, "prom_user_projector_apply_duration_seconds",
                 projector_labels(at.first, at.second));
    }
}

std::optional<supervisor::attempt_counts> supervisor::counts(std::string_view topic,
                                                             std::string_view group) const {
    prom::lock_guard lock(mu_);
    for (const auto& [name, m] : managed_) {
        for (const runner* r : {m.serving.get(), m.rebuild.get()}) {
            if (!r || r->group != group) continue;
            if (auto it = r->by_topic.find(topic); it != r->by_topic.end()) {
                const auto& pm = it->second->metrics();
                return attempt_counts{pm.applied.load(), pm.errors.load()};
            }
        }
    }
    return std::nullopt;
}

std::optional<definition_runtime> supervisor::runtime(std::string_view name) const {
    bool stopping;
    {
        prom::lock_guard lock(sync_mu_);
        stopping = stopping_;
    }
    prom::lock_guard lock(mu_);
    auto it = managed_.find(name);
    if (it == managed_.end()) return std::nullopt;
    const managed& m = it->second;
    definition_runtime out;
    out.generation = m.generation;
    out.error = m.error;
    if (stopping) out.running = false;
    // Between a generation's retirement and its new projectors' start it still counts as
    // running: only projectors that stopped by themselves, or a stopping node, are "stopped".
    out.running = true;
    for (bool rebuild : {false, true}) {
        const runner* r = rebuild ? m.rebuild.get() : m.serving.get();
        if (!r) continue;
        for (const auto& [topic, p] : r->by_topic) {
            const auto& pm = p->metrics();
            topic_runtime t;
            t.topic = topic;
            t.cursor = pm.cursor.load();
            t.applied = pm.applied.load();
            t.errors = pm.errors.load();
            t.dead_lettered = pm.dead_lettered.load();
            t.last_error = pm.last_error.get();
            if (!rebuild && (pm.failed.load() || pm.stopped_on_poison.load())) out.running = false;
            (rebuild ? out.rebuild : out.serving).push_back(std::move(t));
        }
    }
    // What this node's stopped projectors of `name` counted (earlier versions, a failed
    // one), added in: the status counts as /metrics does, and a failed definition, which
    // has no projectors left, still shows its errors and dead letters.
    for (const auto& [at, c] : carried_) {
        if (at.first != name) continue;
        auto t = std::ranges::find(out.serving, at.second, &topic_runtime::topic);
        if (t == out.serving.end()) {
            out.serving.push_back({.topic = at.second});
            t = std::prev(out.serving.end());
        }
        t->applied += c.applied;
        t->errors += c.errors;
        t->dead_lettered += c.dead_lettered;
        if (t->last_error.empty()) t->last_error = c.last_error;
    }
    return out;
}

}  // namespace prom::userproj
