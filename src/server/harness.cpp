#include "prom/harness.hpp"

#include "server/node.hpp"

namespace prom {

namespace {

class node_harness final : public harness {
  public:
    explicit node_harness(std::unique_ptr<server::node> n)
        : node_(std::move(n)), bus_(node_->storage()) {}
    ~node_harness() override { stop(); }

    std::uint16_t port() const override { return node_->port(); }
    store& storage() override { return node_->storage(); }
    prom::bus& bus() override { return bus_; }
    void stop() override { node_->stop(); }

  private:
    std::unique_ptr<server::node> node_;
    prom::bus bus_;
};

}  // namespace

result<std::unique_ptr<harness>> harness::start(harness_options options) {
    server::serve_config c;
    if (!options.config_json.empty()) {
        if (auto ok = server::apply_config_json(options.config_json, c); !ok) {
            return std::unexpected(ok.error());
        }
    }
    c.db = options.db;
    c.host = "127.0.0.1";
    c.port = 0;  // a fixed port would make parallel tests collide
    c.durable = false;
    c.threads = 2;
    c.blocking_threads = 4;
    if (!options.process_projectors) c.projectors.clear();
    auto n = server::node::start(std::move(c));
    if (!n) return std::unexpected(n.error());
    return std::unique_ptr<harness>(new node_harness(std::move(*n)));
}

}  // namespace prom
