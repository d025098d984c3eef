// A store that forwards every call to another one (LevelDB's EnvWrapper idea). A wrapper
// derives from it and overrides only what it changes: the schema check of every append
// (src/schema/enforcing_store.cpp), or in tests the one call they stall, fail or observe,
// so production code needs no test hooks. A new store method is forwarded here once, not
// in every wrapper. The inner store must outlive the wrapper.
#pragma once

#include "prom/store.hpp"

namespace prom::storage {

class forwarding_store : public store {
  public:
    explicit forwarding_store(store& inner) : inner_(inner) {}

    result<std::vector<append_result>> append(std::vector<event_input> batch) override {
        return inner_.append(std::move(batch));
    }
    void append_async(std::vector<event_input> batch, append_callback done) override {
        inner_.append_async(std::move(batch), std::move(done));
    }
    const commit_statistics* commit_stats() const override { return inner_.commit_stats(); }
    result<std::vector<event>> scan(const scan_query& q) override { return inner_.scan(q); }
    result<std::vector<event>> scan_key_by_time(const key_time_query& q) override {
        return inner_.scan_key_by_time(q);
    }
    result<std::vector<event>> latest_per_key(std::string_view topic) override {
        return inner_.latest_per_key(topic);
    }
    result<std::vector<std::string>> topic_keys(std::string_view topic, std::string_view after,
                                                std::size_t limit) override {
        return inner_.topic_keys(topic, after, limit);
    }
    result<std::vector<topic_info>> topics() override { return inner_.topics(); }
    result<std::optional<topic_info>> topic(std::string_view name) override {
        return inner_.topic(name);
    }
    result<std::optional<seq_t>> cursor(std::string_view topic, std::string_view group) override {
        return inner_.cursor(topic, group);
    }
    status set_cursor(std::string_view topic, std::string_view group, seq_t seq) override {
        return inner_.set_cursor(topic, group, seq);
    }
    result<std::optional<document>> find_one(std::string_view collection,
                                             std::string_view key) override {
        return inner_.find_one(collection, key);
    }
    result<std::vector<document>> find(const find_query& q) override { return inner_.find(q); }
    status declare_index(std::string_view collection, std::string_view field) override {
        return inner_.declare_index(collection, field);
    }
    result<std::vector<document_change>> changes(const change_query& q) override {
        return inner_.changes(q);
    }
    result<seq_t> last_change(std::string_view collection) override {
        return inner_.last_change(collection);
    }
    result<std::vector<std::string>> logged_collections(std::string_view prefix) override {
        return inner_.logged_collections(prefix);
    }
    result<std::unique_ptr<transaction>> begin() override { return inner_.begin(); }
    result<bool> acquire_lease(std::string_view name, std::string_view owner,
                               std::chrono::milliseconds ttl) override {
        return inner_.acquire_lease(name, owner, ttl);
    }
    status release_lease(std::string_view name, std::string_view owner) override {
        return inner_.release_lease(name, owner);
    }
    std::uint64_t change_version() override { return inner_.change_version(); }
    void wait_for_change(std::uint64_t seen, std::chrono::milliseconds timeout) override {
        inner_.wait_for_change(seen, timeout);
    }
    std::uint64_t topic_change_version(std::string_view topic) override {
        return inner_.topic_change_version(topic);
    }
    void wait_for_topic_change(std::string_view topic, std::uint64_t seen,
                               std::chrono::milliseconds timeout) override {
        inner_.wait_for_topic_change(topic, seen, timeout);
    }
    void wait_for_commit_listeners() override { inner_.wait_for_commit_listeners(); }
    void add_commit_listener(commit_listener listener) override {
        inner_.add_commit_listener(std::move(listener));
    }
    result<std::vector<cursor_status>> list_cursors() override { return inner_.list_cursors(); }
    result<std::vector<lease_status>> list_leases(std::string_view prefix) override {
        return inner_.list_leases(prefix);
    }
    result<bool> delete_cursor(std::string_view topic, std::string_view group) override {
        return inner_.delete_cursor(topic, group);
    }
    status seize_lease(std::string_view name, std::string_view owner,
                       std::chrono::milliseconds ttl) override {
        return inner_.seize_lease(name, owner, ttl);
    }
    void add_append_listener(append_listener listener) override {
        inner_.add_append_listener(std::move(listener));
    }
    result<std::size_t> put_snapshots(std::string_view topic, std::string_view key,
                                      std::string_view reducer, seq_t known_seq,
                                      const std::vector<state_snapshot>& snaps) override {
        return inner_.put_snapshots(topic, key, reducer, known_seq, snaps);
    }
    result<std::optional<state_snapshot>> snapshot_at_or_before(std::string_view topic,
                                                                std::string_view key,
                                                                std::string_view reducer,
                                                                ts_ms t) override {
        return inner_.snapshot_at_or_before(topic, key, reducer, t);
    }
    result<ts_ms> raise_horizon(std::string_view topic, ts_ms h) override {
        return inner_.raise_horizon(topic, h);
    }
    result<std::optional<key_horizon>> find_key_horizon(std::string_view topic,
                                                        std::string_view key) override {
        return inner_.find_key_horizon(topic, key);
    }
    result<bool> has_event_id(std::string_view topic, std::string_view id) override {
        return inner_.has_event_id(topic, id);
    }
    result<std::vector<key_horizon>> key_horizons(std::string_view topic) override {
        return inner_.key_horizons(topic);
    }
    result<std::vector<topic_size>> topic_sizes() override { return inner_.topic_sizes(); }
    status reclaim_space() override { return inner_.reclaim_space(); }
    status checkpoint_log() override { return inner_.checkpoint_log(); }

  protected:
    store& inner_;
};

}  // namespace prom::storage
