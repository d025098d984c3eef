#include "bus/delivery_pool.hpp"

#include <spdlog/spdlog.h>

#include "core/thread_name.hpp"
#include "storage/common.hpp"

namespace prom::bus_internal {

namespace {
using clock = std::chrono::steady_clock;
// The watcher's longest sleep: the resolution of back-offs and lease retries.
constexpr std::chrono::milliseconds watch_tick{20};
}  // namespace

struct delivery_pool::pump final : delivery_pool::consumer,
                                   std::enable_shared_from_this<delivery_pool::pump> {
    enum class phase { ready, running, delivering, waiting, stopped };

    pump(delivery_pool& pool, std::uint64_t id, store& s, consumer_config c, deliver_fn d,
         settle_fn st)
        : pool_(pool),
          id_(id),
          state_(s, std::move(c)),
          deliver_(std::move(d)),
          settle_(std::move(st)) {}

    void stop(std::function<void()> stopped) override;
    bool active() const override { return state_.active(); }
    result<bool> confirm_lease() override { return state_.confirm_lease(); }

    delivery_pool& pool_;
    const std::uint64_t id_;
    // Only the worker running the pump touches it, but for confirm_lease (thread-safe).
    consumer_state state_;
    deliver_fn deliver_;
    settle_fn settle_;
    // Guarded by the pool's mu_:
    phase phase_ = phase::ready;
    bool stop_requested_ = false;
    std::function<void()> stopped_;
    std::uint64_t generation_ = 0;  // a `done` of an older delivery is ignored
    std::optional<bool> outcome_;   // set by done(): the delivery to settle
    seq_t batch_last_{};
    clock::time_point deadline_{};  // waiting: when to step; delivering: when to renew
    bool renewing_ = false;         // in renewals_ or being renewed by a worker
    seq_t parked_at_{};             // the position when parked
    bool in_topic_ = false;         // in watched_[topic].parked
};

void delivery_pool::pump::stop(std::function<void()> stopped) {
    {
        prom::lock_guard lock(pool_.mu_);
        if (phase_ != phase::stopped) {
            stop_requested_ = true;
            stopped_ = std::move(stopped);
            // A batch in flight is waited for: its done() settles it (an automatic ack) and
            // then finishes the consumer, so a batch the client got before `unsubscribed` is
            // never delivered again (found from outside). The consumer's done() always comes:
            // for WebSocket when the frame is written or the connection is dropped.
            if (phase_ == phase::waiting) {
                ++generation_;  // a late wake-up changes nothing
                pool_.ready(shared_from_this());
            }
            return;
        }
    }
    if (stopped) stopped();  // already stopped: at once, outside the lock
}

delivery_pool::delivery_pool(store& s, unsigned threads)
    : store_(s), link_(std::make_shared<listener_link>()) {
    checked_version_ = store_.change_version();
    next_full_check_ = clock::now() + full_check_interval;
    link_->pool = this;
    // The store keeps its listeners for its whole life; the link lets this one outlive us.
    store_.add_append_listener([link = link_](const appended_topics& a) {
        prom::lock_guard lock(link->mu);
        if (link->pool) link->pool->on_appended(a);
    });
    if (threads == 0) threads = 1;
    for (unsigned i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
    watcher_ = std::thread([this] { watch(); });
}

delivery_pool::~delivery_pool() { close(); }

void delivery_pool::close() {
    {
        prom::lock_guard lock(mu_);
        if (closing_) return;
        closing_ = true;
    }
    {
        prom::lock_guard lock(link_->mu);
        link_->pool = nullptr;
    }
    work_cv_.notify_all();
    watcher_cv_.notify_all();
    for (auto& t : workers_) t.join();
    watcher_.join();
    // Whoever is left gives its lease back, so another process takes over without waiting
    // for the lease to expire. Their `stopped` callbacks are not run: what they would reply
    // to is gone with the pool's owner.
    std::map<std::uint64_t, std::shared_ptr<pump>> left;
    {
        prom::lock_guard lock(mu_);
        left.swap(all_);
        ready_.clear();
        renewals_.clear();
    }
    for (auto& [id, p] : left) p->state_.release();
}

std::shared_ptr<delivery_pool::consumer> delivery_pool::add(consumer_config config,
                                                            deliver_fn deliver, settle_fn settle) {
    prom::lock_guard lock(mu_);
    auto p = std::make_shared<pump>(*this, next_id_++, store_, std::move(config),
                                    std::move(deliver), std::move(settle));
    all_[p->id_] = p;
    ++watched_[p->state_.config().topic].consumers;
    ready_.push_back(p);
    work_cv_.notify_one();
    watcher_cv_.notify_all();
    return p;
}

void delivery_pool::unpark(pump& p) {
    if (p.in_topic_) {
        if (auto it = watched_.find(p.state_.config().topic); it != watched_.end()) {
            it->second.parked.erase(&p);
        }
        p.in_topic_ = false;
    }
}

void delivery_pool::ready(const std::shared_ptr<pump>& p) {
    unpark(*p);
    p->phase_ = pump::phase::ready;
    ready_.push_back(p);
    work_cv_.notify_one();
}

void delivery_pool::work() {
    name_this_thread("prom-delivery");
    for (;;) {
        std::shared_ptr<pump> p;
        bool renewal = false;
        {
            prom::unique_lock lock(mu_);
            while (!closing_ && ready_.empty() && renewals_.empty()) work_cv_.wait(lock.native());
            if (closing_) return;
            renewal = !renewals_.empty();
            auto& from = renewal ? renewals_ : ready_;
            p = std::move(from.front());
            from.pop_front();
            if (!renewal) p->phase_ = pump::phase::running;
        }
        if (renewal)
            renew_while_delivering(p);
        else
            step(p);
    }
}

void delivery_pool::step(const std::shared_ptr<pump>& p) {
    std::optional<bool> outcome;
    seq_t last{};
    bool stopping = false;
    {
        prom::lock_guard lock(mu_);
        stopping = p->stop_requested_;
        outcome = std::exchange(p->outcome_, std::nullopt);
        last = p->batch_last_;
    }
    // A delivery came back: settle it (an automatic ack commits here), then move the position.
    // Settled even when the consumer is stopping: the batch was written to the client, and a
    // client that closes right after reading it must not get it again from the next consumer
    // (docs/ws-protocol.md: a batch is acknowledged once written).
    std::optional<seq_t> reached;
    if (outcome && *outcome) {
        // Unless the lease passed to another consumer meanwhile (a client read the batch too
        // slowly, or an operator revoked the lease): the cursor is the new holder's now, and
        // this batch is its to deliver again.
        auto held = p->state_.confirm_lease();
        if (!held || !*held) {
            spdlog::warn(
                "subscriber {}/{}: the group's lease passed to another consumer before the "
                "batch up to seq {} was settled; it is left to that consumer",
                p->state_.config().topic, p->state_.config().group, last.value);
        } else {
            try {
                reached = p->settle_(last);
            } catch (const std::exception& e) {
                spdlog::warn("subscriber {}/{}: {}", p->state_.config().topic,
                             p->state_.config().group, e.what());
            }
        }
    }
    if (stopping) return finish(p);
    if (outcome) {
        if (!p->state_.advance(reached, last)) {
            return park(p,
                        {consumer_step::kind::back_off, {}, 0, p->state_.config().retry_backoff});
        }
    }
    auto s = p->state_.next();
    if (s.what != consumer_step::kind::deliver) return park(p, s);
    std::uint64_t generation = 0;
    {
        prom::lock_guard lock(mu_);
        stopping = p->stop_requested_;
        if (!stopping) {
            p->phase_ = pump::phase::delivering;
            p->batch_last_ = s.events.back().seq;
            generation = p->generation_;
            if (!p->state_.config().ephemeral) {
                p->deadline_ = clock::now() + p->state_.config().lease_ttl / 3;
                next_deadline_ = std::min(next_deadline_, p->deadline_);
            }
        }
    }
    if (stopping) return finish(p);
    std::weak_ptr<pump> weak = p;
    p->deliver_(std::move(s.events), [this, weak, generation](bool ok) {
        if (auto q = weak.lock()) delivered(q, generation, ok);
    });
}

void delivery_pool::delivered(const std::shared_ptr<pump>& p, std::uint64_t generation, bool ok) {
    prom::lock_guard lock(mu_);
    if (closing_ || p->phase_ != pump::phase::delivering || p->generation_ != generation) return;
    p->outcome_ = ok;
    ready(p);
}

void delivery_pool::renew_while_delivering(const std::shared_ptr<pump>& p) {
    auto held = p->state_.confirm_lease();
    if (!held) {
        spdlog::warn("subscriber {}/{}: lease: {}", p->state_.config().topic,
                     p->state_.config().group, held.error().message);
    } else if (!*held) {
        spdlog::warn(
            "subscriber {}/{}: the group's lease passed to another consumer while a batch "
            "waited for its client",
            p->state_.config().topic, p->state_.config().group);
    }
    prom::lock_guard lock(mu_);
    p->renewing_ = false;
    if (p->phase_ != pump::phase::delivering) return;
    if (held && !*held) {
        p->deadline_ = clock::time_point::max();  // lost: nothing to renew until it is back
    } else {
        p->deadline_ = clock::now() + p->state_.config().lease_ttl / 3;  // renewed, or retried
        next_deadline_ = std::min(next_deadline_, p->deadline_);
    }
}

void delivery_pool::park(const std::shared_ptr<pump>& p, const consumer_step& s) {
    const auto& c = p->state_.config();
    const bool active = p->state_.active();
    const seq_t position = p->state_.position();
    prom::lock_guard lock(mu_);
    if (p->stop_requested_) {
        p->phase_ = pump::phase::ready;
        ready_.push_back(p);
        work_cv_.notify_one();
        return;
    }
    p->parked_at_ = position;
    if (s.what == consumer_step::kind::back_off) {
        p->deadline_ = clock::now() + s.wait;
    } else {
        // An active consumer sleeps until its topic grows (and wakes to renew its lease);
        // a standby retries the lease every idle_wait().
        std::chrono::milliseconds wait = !active       ? s.wait
                                         : c.ephemeral ? std::chrono::hours(1)
                                                       : c.lease_ttl / 3;
        p->deadline_ = clock::now() + wait;
        auto& w = watched_[c.topic];
        // An append reported after this pump's read, or a full check that ran after it,
        // found it not yet parked: read again rather than miss it.
        if (s.version < checked_version_ || (active && w.last_reported > position)) {
            ready(p);
            return;
        }
        // A standby waits for its deadline only: its retry is a lease write, which a wake-up
        // on every commit of the active node would turn into a transaction per commit.
        if (active) {
            w.parked.insert(p.get());
            p->in_topic_ = true;
        }
    }
    next_deadline_ = std::min(next_deadline_, p->deadline_);
    p->phase_ = pump::phase::waiting;
}

void delivery_pool::finish(const std::shared_ptr<pump>& p) {
    p->state_.release();
    std::function<void()> stopped;
    {
        prom::lock_guard lock(mu_);
        p->phase_ = pump::phase::stopped;
        stopped = std::move(p->stopped_);
        unpark(*p);
        if (auto it = watched_.find(p->state_.config().topic);
            it != watched_.end() && --it->second.consumers == 0) {
            watched_.erase(it);
        }
        all_.erase(p->id_);
    }
    if (stopped) stopped();
}

void delivery_pool::on_appended(const appended_topics& a) {
    prom::lock_guard lock(mu_);
    if (closing_) return;
    if (!a.complete) full_check_due_ = true;  // the watcher runs it (the counter moves next)
    std::vector<pump*> wake;
    for (const auto& tip : a.tips) {
        auto it = watched_.find(tip.topic);
        if (it == watched_.end()) continue;  // nobody reads it
        auto& w = it->second;
        w.last_reported = std::max(w.last_reported, tip.last_seq);
        for (pump* p : w.parked) {
            if (p->parked_at_ < tip.last_seq) wake.push_back(p);
        }
        for (pump* p : wake) ready(p->shared_from_this());
        wake.clear();
    }
}

void delivery_pool::watch() {
    name_this_thread("prom-delivery-w");
    std::uint64_t seen = store_.change_version();
    for (;;) {
        {
            // Without consumers there is nothing to renew, retry or check, so the watcher
            // does not wake at all, on commits (a thousand a second under publish load) or
            // otherwise (the store notices other processes' commits by itself); adding a
            // consumer ends the sleep.
            prom::unique_lock lock(mu_);
            if (closing_) return;
            while (!closing_ && all_.empty()) watcher_cv_.wait(lock.native());
            if (closing_) return;
        }
        store_.wait_for_change(seen, watch_tick);
        const std::uint64_t version = store_.change_version();
        seen = version;
        bool full = false;
        {
            prom::lock_guard lock(mu_);
            if (closing_) return;
            const auto now = clock::now();
            if (now >= next_deadline_) wake_due(now);
            if (full_check_due_ || now >= next_full_check_) {
                full_check_due_ = false;
                next_full_check_ = now + full_check_interval;
                checked_version_ = version;
                full = true;
            }
        }
        if (full) full_check();
    }
}

void delivery_pool::wake_due(clock::time_point now) {
    next_deadline_ = clock::time_point::max();
    for (auto& [id, p] : all_) {
        const bool waiting = p->phase_ == pump::phase::waiting;
        const bool renewable =
            p->phase_ == pump::phase::delivering && !p->renewing_ && !p->state_.config().ephemeral;
        if (!waiting && !renewable) continue;
        if (now < p->deadline_) {
            next_deadline_ = std::min(next_deadline_, p->deadline_);
        } else if (waiting) {
            ready(p);
        } else {
            p->renewing_ = true;
            renewals_.push_back(p);
            work_cv_.notify_one();
        }
    }
}

void delivery_pool::full_check() {
    std::vector<std::string> topics;
    {
        prom::lock_guard lock(mu_);
        for (auto& [topic, w] : watched_) {
            if (!w.parked.empty()) topics.push_back(topic);
        }
    }
    if (topics.empty()) return;
    // The topics' last seqs: one query per topic, or one for all when many are parked.
    std::map<std::string, seq_t, std::less<>> last;
    bool failed = false;
    if (topics.size() > 16) {
        auto all = store_.topics();
        failed = !all;
        if (all) {
            for (auto& t : *all) last[t.topic] = t.last_seq;
        }
    } else {
        for (auto& topic : topics) {
            auto t = store_.topic(topic);
            if (!t)
                failed = true;
            else
                last[topic] = *t ? (*t)->last_seq : seq_t{};
        }
    }
    prom::lock_guard lock(mu_);
    std::vector<pump*> wake;
    for (auto& topic : topics) {
        auto w = watched_.find(topic);
        if (w == watched_.end()) continue;
        auto it = last.find(topic);
        const seq_t end = it == last.end() ? seq_t{} : it->second;
        for (pump* p : w->second.parked) {
            // After an error the consumers find out for themselves.
            if (failed || end > p->parked_at_) wake.push_back(p);
        }
        for (pump* p : wake) ready(p->shared_from_this());
        wake.clear();
    }
}

}  // namespace prom::bus_internal
