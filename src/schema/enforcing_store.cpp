#include "schema/enforcing_store.hpp"

#include "schema/payload_schemas.hpp"
#include "storage/forwarding_store.hpp"

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
    status update(std::string_view collection, std::string_view key, json::object update,
                  bool upsert) override {
        return inner_->update(collection, key, std::move(update), upsert);
    }
    status create_one(std::string_view collection, std::string_view key,
                      json::object body) override {
        return inner_->create_one(collection, key, std::move(body));
    }
    result<bool> delete_one(std::string_view collection, std::string_view key) override {
        return inner_->delete_one(collection, key);
    }
    result<bool> erase_one(std::string_view collection, std::string_view key) override {
        return inner_->erase_one(collection, key);
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
    result<std::size_t> delete_events(std::string_view topic,
                                      const std::vector<seq_t>& seqs) override {
        return inner_->delete_events(topic, seqs);
    }
    status put_key_horizon(std::string_view topic, const key_horizon& h) override {
        return inner_->put_key_horizon(topic, h);
    }
    result<std::size_t> erase_key(std::string_view topic, std::string_view key) override {
        return inner_->erase_key(topic, key);
    }
    result<std::size_t> put_snapshots(std::string_view topic, std::string_view key,
                                      std::string_view reducer, seq_t known_seq,
                                      const std::vector<state_snapshot>& snaps) override {
        return inner_->put_snapshots(topic, key, reducer, known_seq, snaps);
    }
    status commit() override { return inner_->commit(); }

  private:
    std::unique_ptr<transaction> inner_;
    payload_schemas& schemas_;
};

// Owns the wrapped backend; a base of enforcing_store ahead of forwarding_store, so that the
// backend exists before forwarding_store takes a reference to it.
struct owned_backend {
    std::unique_ptr<store> backend;
};

class enforcing_store final : private owned_backend, public storage::forwarding_store {
  public:
    explicit enforcing_store(std::unique_ptr<store> inner)
        : owned_backend{std::move(inner)}, forwarding_store(*backend), schemas_(*backend) {
        // The listener lives in the backend, which this object owns and outlives.
        backend->add_commit_listener(
            [this](const std::vector<document>& changed) { schemas_.forget(changed); });
    }

    result<std::vector<append_result>> append(std::vector<event_input> batch) override {
        if (auto ok = schemas_.check(batch); !ok) return std::unexpected(ok.error());
        return inner_.append(std::move(batch));
    }
    void append_async(std::vector<event_input> batch, append_callback done) override {
        if (auto ok = schemas_.check(batch); !ok) return done(std::unexpected(ok.error()));
        inner_.append_async(std::move(batch), std::move(done));
    }
    result<std::unique_ptr<transaction>> begin() override {
        auto t = inner_.begin();
        if (!t) return t;
        return std::unique_ptr<transaction>(
            std::make_unique<checked_transaction>(std::move(*t), schemas_));
    }

  private:
    payload_schemas schemas_;
};

}  // namespace

std::unique_ptr<store> enforce_schemas(std::unique_ptr<store> backend) {
    return std::make_unique<enforcing_store>(std::move(backend));
}

}  // namespace prom::schema
