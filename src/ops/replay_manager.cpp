#include "ops/replay_manager.hpp"

#include "core/thread_name.hpp"

namespace prom::ops {

replay_manager::~replay_manager() { stop(); }

void replay_manager::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    for (auto& j : jobs_) {
        if (j.thread.joinable()) j.thread.join();
    }
}

json::object replay_manager::to_json_locked(const job& j) const {
    json::object o = to_json(j.progress);
    o["id"] = j.id;
    o["src"] = j.spec.src;
    o["dst"] = j.spec.dst;
    o["state"] = j.state;
    o["error"] = j.error.empty() ? json::value(nullptr) : json::value(j.error);
    return o;
}

result<json::object> replay_manager::start(const replay_spec& spec) {
    auto compiled = compile_replay(store_, spec);
    if (!compiled) return std::unexpected(compiled.error());
    // A replay into DST running elsewhere (the CLI, another node) holds its lease: refuse
    // now rather than start a job that fails at once.
    auto leases = store_.list_leases(replay_lease(spec.dst));
    if (!leases) return std::unexpected(leases.error());
    for (const auto& l : *leases) {
        if (l.name == replay_lease(spec.dst) && l.remaining.count() > 0) {
            // The lease also outlives a replay killed less than its lifetime ago.
            return fail(errc::conflict, "a replay into '" + spec.dst +
                                            "' is running (or stopped less than " +
                                            std::to_string(l.remaining.count() / 1000 + 1) +
                                            " s ago: its lease lapses then)");
        }
    }
    std::lock_guard lock(mu_);
    if (stopping_) return fail(errc::unavailable, "the server is stopping");
    for (const auto& j : jobs_) {
        if (j.state == "running" && j.spec.dst == spec.dst) {
            return fail(errc::conflict,
                        "a replay into '" + spec.dst + "' is running (" + j.id + ")");
        }
    }
    job& j = jobs_.emplace_back();
    j.id = new_event_id();
    j.spec = spec;
    j.thread = std::thread([this, &j, c = std::move(*compiled)] {
        name_this_thread("prom-replay");
        auto done = run_replay(store_, *c, [this, &j](const replay_progress& p) {
            std::lock_guard lock(mu_);
            j.progress = p;
            return !stopping_;
        });
        std::lock_guard lock(mu_);
        if (done) {
            j.progress = *done;
            j.state = "done";
        } else {
            j.state = done.error().code == errc::cancelled ? "cancelled" : "failed";
            j.error = done.error().message;
        }
    });
    return to_json_locked(j);
}

json::array replay_manager::list() const {
    std::lock_guard lock(mu_);
    json::array out;
    for (const auto& j : jobs_) out.push_back(to_json_locked(j));
    return out;
}

}  // namespace prom::ops
