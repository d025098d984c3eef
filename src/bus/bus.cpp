#include "prom/bus.hpp"

#include <spdlog/spdlog.h>

#include "bus/consumer_loop.hpp"

namespace prom {

namespace {

class group_subscription final : public subscription {
  public:
    group_subscription(bus& b, std::string topic, std::string group, batch_handler handler,
                       subscribe_options o)
        : bus_(b),
          topic_(std::move(topic)),
          group_(std::move(group)),
          handler_(std::move(handler)),
          options_(o),
          loop_(b.storage(),
                {topic_, group_, o.from, o.batch_size, o.lease_ttl, o.retry_backoff, o.ephemeral},
                [this](const std::vector<event>& batch) { return deliver(batch); }) {
        loop_.start();
    }
    ~group_subscription() override {
        // From another thread, stop() joins: a batch being handled still gets its ack. From
        // the loop's own thread (the handler let go of us), nothing of `this` survives it.
        if (loop_.on_loop_thread()) *alive_ = false;
        loop_.stop();
    }

    status ack(seq_t seq) override {
        if (options_.ephemeral) return {};  // nothing is stored for an ephemeral subscription
        // The lease may have passed on since this batch came (an operator's forced seek, or
        // a pause past the lease): the cursor is then its new holder's, not ours to move.
        auto held = loop_.confirm_lease();
        if (!held) return std::unexpected(held.error());
        if (!*held) {
            return fail(errc::conflict, "this subscriber no longer holds the lease of group '" +
                                            group_ + "' of topic '" + topic_ +
                                            "': the ack was not applied");
        }
        return bus_.ack(topic_, group_, seq);
    }
    void stop() override { loop_.stop(); }
    bool active() const override { return loop_.active(); }
    const std::string& topic() const override { return topic_; }
    const std::string& group() const override { return group_; }

  private:
    std::optional<seq_t> deliver(const std::vector<event>& batch) {
        // The handler may destroy this subscription (its owner let go of it from this very
        // thread): then nothing of `this` may be touched once it returns, and the loop,
        // stopped, ends.
        std::shared_ptr<const std::atomic<bool>> alive = alive_;
        try {
            handler_(std::span<const event>(batch), *this);
        } catch (const std::exception& e) {
            if (!*alive) return std::nullopt;
            spdlog::warn("subscriber {}/{} failed, will redeliver: {}", topic_, group_, e.what());
            return std::nullopt;
        }
        if (!*alive) return std::nullopt;
        seq_t last = batch.back().seq;
        if (!options_.manual_ack && !options_.ephemeral) {
            if (auto ok = ack(last); !ok) {
                spdlog::warn("subscriber {}/{}: ack failed: {}", topic_, group_,
                             ok.error().message);
                return std::nullopt;
            }
        }
        return last;
    }

    bus& bus_;
    std::string topic_;
    std::string group_;
    batch_handler handler_;
    subscribe_options options_;
    std::shared_ptr<std::atomic<bool>> alive_ = std::make_shared<std::atomic<bool>>(true);
    bus_internal::consumer_loop loop_;
};

}  // namespace

result<append_result> bus::publish(event_input e) {
    std::vector<event_input> one;
    one.push_back(std::move(e));
    auto r = store_.append(std::move(one));
    if (!r) return std::unexpected(r.error());
    return r->front();
}

result<std::vector<append_result>> bus::publish_batch(std::vector<event_input> events) {
    return store_.append(std::move(events));
}

std::unique_ptr<subscription> bus::subscribe(std::string topic, std::string group,
                                             batch_handler handler, subscribe_options options) {
    return std::make_unique<group_subscription>(*this, std::move(topic), std::move(group),
                                                std::move(handler), options);
}

status bus::ack(std::string_view topic, std::string_view group, seq_t seq) {
    // A cursor past the topic's end would make the group skip every event appended up to
    // it, so only seqs that exist can be acknowledged. The topic's last seq only grows, so
    // reading it outside the transaction is enough.
    if (seq < 0) return fail(errc::invalid_argument, "a seq is never negative");
    auto t = store_.topic(topic);
    if (!t) return std::unexpected(t.error());
    const seq_t last = *t ? (*t)->last_seq : seq_t{};
    if (seq > last) {
        return fail(errc::invalid_argument, "cannot ack seq " + to_string(seq) +
                                                ": the last seq of topic '" + std::string(topic) +
                                                "' is " + to_string(last));
    }
    auto txn = store_.begin();
    if (!txn) return std::unexpected(txn.error());
    auto cur = (*txn)->cursor(topic, group);
    if (!cur) return std::unexpected(cur.error());
    if (*cur && **cur >= seq) return {};  // a cursor never moves backwards
    if (auto ok = (*txn)->set_cursor(topic, group, seq); !ok) return ok;
    return (*txn)->commit();
}

result<seq_t> bus::cursor(std::string_view topic, std::string_view group) {
    auto c = store_.cursor(topic, group);
    if (!c) return std::unexpected(c.error());
    return c->value_or(seq_t{});
}

}  // namespace prom
