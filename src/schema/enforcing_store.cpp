#include "schema/enforcing_store.hpp"

#include "schema/payload_schemas.hpp"

namespace prom::schema {

namespace {

class checked_transaction final : public transaction {
  public:
    checked_transaction(std::unique_ptr<transaction> inner, payload_schemas& schemas)
        : inner_(std::move(inner)), schemas_(schemas) {}

    result<std::optional<document>> find_one(std::string_view collection,
                                             std::string_view key) override {
        return inner_->find_one(collection, key);
    }
    result<document> update_one(std::string_view collection, std::string_view key,
                                const json::object& update, bool upsert) override {
        return inner_->update_one(collection, key, update, upsert);
    }
    result<std::vector<append_result>> append(std::vector<event_input> batch) override {
        if (auto ok = schemas_.check(batch); !ok) return std::unexpected(ok.error());
        return inner_->append(std::move(batch));
    }
    status set_cursor(std::string_view topic, std::string_view group, seq_t seq) override {
        return inner_->set_cursor(topic, group, seq);
    }
    result<std::optional<seq_t>> cursor(std::string_view topic, std::string_view group) override {
        return inner_->cursor(topic, group);
    }
    status commit() override { return inner_->commit(); }

  private:
    std::unique_ptr<transaction> inner_;
    payload_schemas& schemas_;
};

class enforcing_store final : public store {
  public:
    explicit enforcing_store(std::unique_ptr<store> inner)
        : inner_(std::move(inner)), schemas_(*inner_) {
        // The listener lives in the inner store, which this object owns and outlives.
        inner_->add_commit_listener(
            [this](const std::vector<document>& changed) { schemas_.forget(changed); });
    }

    result<std::vector<append_result>> append(std::vector<event_input> batch) override {
        if (auto ok = schemas_.check(batch); !ok) return std::unexpected(ok.error());
        return inner_->append(std::move(batch));
    }
    void append_async(std::vector<event_input> batch, append_callback done) override {
        if (auto ok = schemas_.check(batch); !ok) return done(std::unexpected(ok.error()));
        inner_->append_async(std::move(batch), std::move(done));
    }
    result<std::vector<event>> scan(const scan_query& q) override { return inner_->scan(q); }
    result<std::vector<event>> scan_key_by_time(const key_time_query& q) override {
        return inner_->scan_key_by_time(q);
    }
    result<std::vector<event>> latest_per_key(std::string_view topic) override {
        return inner_->latest_per_key(topic);
    }
    result<std::vector<topic_info>> topics() override { return inner_->topics(); }
    result<std::optional<topic_info>> topic(std::string_view name) override {
        return inner_->topic(name);
    }
    result<std::optional<seq_t>> cursor(std::string_view topic, std::string_view group) override {
        return inner_->cursor(topic, group);
    }
    status set_cursor(std::string_view topic, std::string_view group, seq_t seq) override {
        return inner_->set_cursor(topic, group, seq);
    }
    result<std::optional<document>> find_one(std::string_view collection,
                                             std::string_view key) override {
        return inner_->find_one(collection, key);
    }
    result<std::vector<document>> find(const find_query& q) override { return inner_->find(q); }
    status declare_index(std::string_view collection, std::string_view field) override {
        return inner_->declare_index(collection, field);
    }
    result<std::unique_ptr<transaction>> begin() override {
        auto t = inner_->begin();
        if (!t) return t;
        return std::unique_ptr<transaction>(
            std::make_unique<checked_transaction>(std::move(*t), schemas_));
    }
    result<bool> acquire_lease(std::string_view name, std::string_view owner,
                               std::chrono::milliseconds ttl) override {
        return inner_->acquire_lease(name, owner, ttl);
    }
    status release_lease(std::string_view name, std::string_view owner) override {
        return inner_->release_lease(name, owner);
    }
    std::uint64_t change_version() override { return inner_->change_version(); }
    void wait_for_change(std::uint64_t seen, std::chrono::milliseconds timeout) override {
        inner_->wait_for_change(seen, timeout);
    }
    void add_commit_listener(commit_listener listener) override {
        inner_->add_commit_listener(std::move(listener));
    }
    result<std::size_t> put_snapshots(std::string_view topic, std::string_view key,
                                      std::string_view reducer, seq_t known_seq,
                                      const std::vector<state_snapshot>& snaps) override {
        return inner_->put_snapshots(topic, key, reducer, known_seq, snaps);
    }
    result<std::optional<state_snapshot>> snapshot_at_or_before(std::string_view topic,
                                                                std::string_view key,
                                                                std::string_view reducer,
                                                                ts_ms t) override {
        return inner_->snapshot_at_or_before(topic, key, reducer, t);
    }

  private:
    std::unique_ptr<store> inner_;
    payload_schemas schemas_;
};

}  // namespace

std::unique_ptr<store> enforce_schemas(std::unique_ptr<store> backend) {
    return std::make_unique<enforcing_store>(std::move(backend));
}

}  // namespace prom::schema
