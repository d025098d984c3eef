// Exactly-once projection: a batch's effects and the cursor advance commit together.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "bus/consumer_loop.hpp"
#include "core/reserved_headers.hpp"
#include "core/text.hpp"
#include "ops/dlq.hpp"
#include "projector/recorded_batch.hpp"
#include "prom/projector.hpp"
#include "retention/erasure_marker.hpp"

namespace prom {

namespace {

// The longest error text a dead letter or the status keeps (a Lua error is cut at 4 KiB).
constexpr std::size_t error_text_bound = 8192;

enum class outcome { applied, handler_failed, store_failed, conflict, stopped };

struct attempt {
    outcome what;
    error err{errc::internal, ""};
};

class transactional_projector final : public projector {
  public:
    explicit transactional_projector(store& s, projector_options o)
        : store_(s),
          options_(std::move(o)),
          loop_(s,
                {options_.topic, options_.group, options_.from, options_.batch_size,
                 options_.lease_ttl, options_.backoff},
                [this](const std::vector<event>& batch) { return deliver(batch); }) {
        if (options_.retries < 0) options_.retries = 0;
        loop_.start();
    }
    ~transactional_projector() override { loop_.stop(); }

    void stop() override { loop_.stop(); }
    const projector_metrics& metrics() const override { return metrics_; }
    const projector_options& options() const override { return options_; }

    bool wait_until(seq_t seq, std::chrono::milliseconds timeout) override {
        // The durable cursor counts too: work done before this process started is done.
        auto deadline = std::chrono::steady_clock::now() + timeout;
        std::unique_lock lock(mu_);
        for (;;) {
            if (metrics_.cursor.load() >= seq.value) return true;
            if (auto c = store_.cursor(options_.topic, options_.group);
                c && c->value_or(seq_t{}) >= seq) {
                return true;
            }
            if (std::chrono::steady_clock::now() >= deadline) return false;
            cv_.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() +
                                                        std::chrono::milliseconds(50)));
        }
    }

  private:
    // Applies events [first, last] in one transaction, checking that the durable cursor is
    // where this consumer believes it is: if another consumer moved it (a lease race), we
    // must not apply anything twice. Where it believes it is: where the loop stood, or the
    // last event this delivery committed, not the seq before the first event: retention
    // leaves gaps (a projector from `earliest` on a trimmed topic, or a group retention
    // skipped past, took the gap for another consumer's move and never applied anything).
    // No cursor at all: nobody committed for the group, so nobody applied anything.
    attempt apply(std::span<const event> events) {
        const auto started = std::chrono::steady_clock::now();
        if (options_.on_batch) options_.on_batch();
        const seq_t expected = believed_;
        std::unique_lock<std::mutex> one_at_a_time;  // held until the transaction ends
        if (options_.batch_mutex) one_at_a_time = std::unique_lock(*options_.batch_mutex);
        std::optional<recorded_batch> evaluated;
        if (options_.evaluate_before_writing) {
            evaluated.emplace(store_);
            if (auto a = run_handler(events, *evaluated); a.what != outcome::applied) return a;
        }
        auto txn = store_.begin();
        if (!txn) return {outcome::store_failed, txn.error()};
        auto cur = (*txn)->cursor(options_.topic, options_.group);
        if (!cur) return {outcome::store_failed, cur.error()};
        if (cur->has_value() && **cur != expected) {
            return {outcome::conflict, {errc::conflict, "cursor moved by another consumer"}};
        }
        if (evaluated) {
            if (auto ok = evaluated->replay(**txn); !ok) return failed_by(ok.error());
        } else if (auto a = run_handler(events, **txn); a.what != outcome::applied) {
            return a;
        }
        if (auto ok = (*txn)->set_cursor(options_.topic, options_.group, events.back().seq); !ok) {
            return {outcome::store_failed, ok.error()};
        }
        if (auto ok = (*txn)->commit(); !ok) return {outcome::store_failed, ok.error()};
        believed_ = events.back().seq;
        metrics_.apply_latency.record(std::chrono::steady_clock::now() - started);
        return {outcome::applied};
    }

    attempt run_handler(std::span<const event> events, transaction& txn) {
        for (const auto& e : events) {
            // A stop (shutdown, or the definition deleted or replaced) abandons the batch
            // between two events: nothing of it commits, and whoever goes on goes on from the
            // cursor. Finishing it delayed the stop by the rest of the batch, and a replaced
            // definition's effects committed after the change was acknowledged (found from
            // outside: 20 events of half a second each, written 9 s after the DELETE).
            if (loop_.stopping()) return stopped();
            if (!lease_still_held()) return lease_lost();
            // A dead-letter replay's copy for another group (ops/dlq.hpp): not ours to apply.
            // Another version of a user-defined projector is another group: the event it
            // failed, this version applied (or dead-lettered under its own group).
            if (ops::replay_meant_for_other_group(e, options_.group)) {
                continue;
            }
            status st;
            try {
                st = options_.handler(e, txn);
            } catch (const std::exception& ex) {
                st = fail(errc::internal, std::string("handler threw: ") + ex.what());
            }
            if (!st) return failed_by(st.error());
        }
        return {outcome::applied};
    }

    // Handlers evaluated before the write transaction (user code, which may take up to its
    // time limit per event) renew the consumer's lease as they go: a batch longer than the
    // lease lost it to a standby, and both nodes ran the same events (found from outside;
    // the cursor check kept the effects single, not the work nor a poison event's runs).
    // Inside a write transaction (handlers that are quick) no renewal: it is a write too.
    bool lease_still_held() { return !options_.evaluate_before_writing || loop_.renew_lease(); }
    static attempt stopped() { return {outcome::stopped, {errc::cancelled, "stopped"}}; }
    static attempt lease_lost() {
        return {outcome::conflict, {errc::conflict, "the lease was taken over during the batch"}};
    }

    // The handler's reads and writes go through the transaction: a deadlock or a
    // serialization failure there (PostgreSQL aborts one of two projectors that lock the
    // same documents in opposite orders) is the store's, retried for as long as it lasts,
    // never the event's fault to be dead-lettered.
    static attempt failed_by(const error& e) {
        return {transient(e) ? outcome::store_failed : outcome::handler_failed, e};
    }

    void note_error(std::span<const event> events, const error& why) {
        metrics_.errors += 1;
        std::string where = events.size() == 1 ? "seq " + to_string(events.front().seq)
                                               : "batch from seq " + to_string(events.front().seq);
        // Any handler's text, made storable (a Lua error is bounded at 4 KiB already; this
        // bound is only for handlers that do not).
        std::vector<std::string> keys;
        for (const auto& e : events) {
            if (std::ranges::find(keys, e.key) == keys.end()) keys.push_back(e.key);
        }
        metrics_.last_error.set(where + ": " + printable_message(why.message, error_text_bound),
                                std::move(keys));
    }

    // An erasure marker in the batch: the texts kept about the key's events may quote what
    // was erased (found from outside: GET /projectors/{name} still showed it in last_error).
    void forget_erased(const std::vector<event>& batch) {
        for (const auto& e : batch) {
            if (!retention::is_erasure_marker(e)) continue;
            metrics_.last_error.forget_key(e.key);
            if (options_.on_erasure_marker) options_.on_erasure_marker(e.key);
        }
    }

    void advanced(seq_t seq, std::size_t applied) {
        if (applied > 0) metrics_.dead_letter_streak = 0;
        metrics_.applied += applied;
        metrics_.batches += 1;
        {
            std::lock_guard lock(mu_);
            metrics_.cursor = seq.value;
            if (metrics_.last_seq < seq.value) metrics_.last_seq = seq.value;
        }
        cv_.notify_all();
    }

    std::chrono::milliseconds backoff(int attempt_no) const {
        return options_.backoff * (1 << std::min(attempt_no, 10));
    }

    // A storage error that passes (the database away, a deadlock or serialization failure, I/O,
    // shutdown): what the handler meets through its transaction is the store's too.
    static bool transient(const error& e) {
        return e.code == errc::unavailable || e.code == errc::conflict ||
               e.code == errc::io_error || e.code == errc::cancelled;
    }

    // A storage error that no retry can heal (the event's effects are refused: bad input,
    // a type error, too large, unreadable) is the event's fault like a handler error, so it
    // is retried and then dead-lettered; only errors that pass (unavailable, conflict, I/O)
    // are retried for as long as they last.
    static bool permanent(const error& e) {
        return e.code == errc::invalid_argument || e.code == errc::type_error ||
               e.code == errc::too_large || e.code == errc::corrupt;
    }

    attempt apply_classified(std::span<const event> events) {
        attempt a = apply(events);
        if (a.what == outcome::store_failed && permanent(a.err)) a.what = outcome::handler_failed;
        return a;
    }

    // Tries `events` up to 1 + retries times; returns the last attempt. metrics.retries
    // counts the attempts after the first.
    attempt apply_with_retries(std::span<const event> events) {
        attempt a = apply_classified(events);
        for (int i = 0; i < options_.retries && a.what == outcome::handler_failed; ++i) {
            note_error(events, a.err);
            // Stopped while waiting to retry: not a failure to dead-letter the event for.
            if (!loop_.sleep_for(backoff(i))) return stopped();
            // Outside any transaction, whatever the handler's kind: renewed here, or a run of
            // poison events (~0.35 s each with the default backoff) outlived the lease and a
            // standby ran beside this consumer (found from outside).
            if (!loop_.renew_lease()) return lease_lost();
            metrics_.retries += 1;
            a = apply_classified(events);
        }
        if (a.what == outcome::handler_failed) note_error(events, a.err);
        return a;
    }

    status dead_letter(const event& e, const error& why) {
        auto txn = store_.begin();
        if (!txn) return std::unexpected(txn.error());
        event_input dlq;
        dlq.topic = options_.topic + ".dlq";
        // One entry per (group, event), and one only: a retry after a crash appends nothing.
        dlq.id = ops::dead_letter_id(e, options_.group);
        dlq.key = e.key;
        dlq.ts = e.ts;
        dlq.payload = e.payload;
        dlq.headers = e.headers;
        // A copy that a dlq replay made carries the first event's id already.
        dlq.headers.try_emplace("prom-original-id", e.id);
        dlq.headers.try_emplace(std::string(original_seq_header), to_string(e.seq));
        dlq.headers["prom-error"] = printable_message(why.message, error_text_bound);
        dlq.headers["prom-source-topic"] = e.topic;
        dlq.headers["prom-source-seq"] = to_string(e.seq);
        dlq.headers["prom-group"] = options_.group;
        std::vector<event_input> one;
        one.push_back(std::move(dlq));
        if (auto r = (*txn)->append(std::move(one)); !r) return std::unexpected(r.error());
        if (auto ok = (*txn)->set_cursor(options_.topic, options_.group, e.seq); !ok) return ok;
        if (auto ok = (*txn)->commit(); !ok) return ok;
        believed_ = e.seq;
        return {};
    }

    std::optional<seq_t> deliver(const std::vector<event>& batch) {
        believed_ = loop_.position();
        forget_erased(batch);
        // A batch of several events is tried once: when a handler fails, the events are
        // tried one by one, each with the retries, so that a poison event is tried
        // 1 + retries times alone (and once in its batch), not twice that.
        auto whole = batch.size() == 1 ? apply_with_retries(batch) : apply_classified(batch);
        if (whole.what == outcome::handler_failed && batch.size() > 1) {
            note_error(batch, whole.err);
        }
        if (whole.what == outcome::applied) {
            advanced(batch.back().seq, batch.size());
            return batch.back().seq;
        }
        if (whole.what != outcome::handler_failed) return not_applied(whole);

        // The batch fails: apply event by event to find the poison one.
        std::optional<seq_t> reached;
        for (const auto& e : batch) {
            if (batch.size() > 1 && !loop_.renew_lease()) {
                not_applied(lease_lost());
                return reached;
            }
            auto one =
                batch.size() == 1 ? whole : apply_with_retries(std::span<const event>(&e, 1));
            if (one.what == outcome::applied) {
                advanced(e.seq, 1);
                reached = e.seq;
                continue;
            }
            if (one.what != outcome::handler_failed) {
                not_applied(one);
                return reached;
            }
            if (options_.poison == on_poison::stop) {
                spdlog::error("projector {}/{}: event seq {} failed {} times, stopping: {}",
                              options_.topic, options_.group, e.seq.value, options_.retries + 1,
                              one.err.message);
                metrics_.stopped_on_poison = true;
                loop_.stop();
                return reached;
            }
            if (auto ok = dead_letter(e, one.err); !ok) {
                spdlog::warn("projector {}/{}: cannot dead-letter seq {}: {}", options_.topic,
                             options_.group, e.seq.value, ok.error().message);
                return reached;
            }
            spdlog::warn("projector {}/{}: seq {} dead-lettered to {}.dlq: {}", options_.topic,
                         options_.group, e.seq.value, options_.topic, one.err.message);
            metrics_.dead_lettered += 1;
            advanced(e.seq, 0);
            reached = e.seq;
            if (options_.fail_after_dead_letters > 0 &&
                ++metrics_.dead_letter_streak >= options_.fail_after_dead_letters) {
                spdlog::error("projector {}/{}: {} events in a row dead-lettered, stopping",
                              options_.topic, options_.group, metrics_.dead_letter_streak.load());
                metrics_.failed = true;
                loop_.stop_keeping_lease();
                return reached;
            }
        }
        return reached;
    }

    // The consumer loop delivers the same events again after its backoff: a retry too.
    std::optional<seq_t> not_applied(const attempt& a) {
        if (a.what == outcome::stopped) return std::nullopt;  // the loop ends; no retry
        metrics_.retries += 1;
        if (a.what == outcome::conflict) {
            spdlog::warn("projector {}/{}: {}; re-reading the cursor", options_.topic,
                         options_.group, a.err.message);
            loop_.resync();
        } else {
            metrics_.errors += 1;
            metrics_.last_error.set("storage: " + a.err.message);
            spdlog::warn("projector {}/{}: storage: {}", options_.topic, options_.group,
                         a.err.message);
        }
        return std::nullopt;
    }

    store& store_;
    projector_options options_;
    projector_metrics metrics_;
    seq_t believed_{};  // the durable cursor as this delivery knows it (the loop's thread)
    std::mutex mu_;
    std::condition_variable cv_;
    bus_internal::consumer_loop loop_;  // last: its thread uses everything above
};

}  // namespace

std::unique_ptr<projector> start_transactional_projector(store& s, projector_options options) {
    return std::make_unique<transactional_projector>(s, std::move(options));
}

}  // namespace prom
