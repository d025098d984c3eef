#include "retention/topic_lease.hpp"

#include <spdlog/spdlog.h>

#include <utility>

namespace prom::retention {

std::string lease_name(std::string_view topic) { return "prom.retention/" + std::string(topic); }

namespace {

// Who holds `name`, for the conflict message; empty when it cannot be told.
std::string holder_of(store& s, const std::string& name) {
    auto leases = s.list_leases(name);
    if (!leases) return {};
    for (const auto& l : *leases) {
        if (l.name == name) {
            return l.owner + " (for " + std::to_string(l.remaining.count()) + " ms more)";
        }
    }
    return {};
}

}  // namespace

result<topic_lease> topic_lease::take(store& s, std::string_view topic, std::string owner,
                                      std::chrono::milliseconds ttl, std::string_view what) {
    std::string name = lease_name(topic);
    auto got = s.acquire_lease(name, owner, ttl);
    if (!got) return std::unexpected(got.error());
    if (!*got) {
        std::string holder = holder_of(s, name);
        return fail(errc::conflict, std::string(what) + " of topic '" + std::string(topic) +
                                        "' refused: a retention pass or erasure of it is "
                                        "running (lease " +
                                        name + " held by " +
                                        (holder.empty() ? std::string("another owner") : holder) +
                                        "); try again when it is done");
    }
    return topic_lease(s, std::move(name), std::move(owner), ttl);
}

topic_lease::topic_lease(store& s, std::string name, std::string owner,
                         std::chrono::milliseconds ttl)
    : store_(&s),
      name_(std::move(name)),
      owner_(std::move(owner)),
      ttl_(ttl),
      renewed_(std::chrono::steady_clock::now()) {}

topic_lease::topic_lease(topic_lease&& other) noexcept
    : store_(std::exchange(other.store_, nullptr)),
      name_(std::move(other.name_)),
      owner_(std::move(other.owner_)),
      ttl_(other.ttl_),
      renewed_(other.renewed_) {}

topic_lease::~topic_lease() {
    if (!store_) return;
    if (auto ok = store_->release_lease(name_, owner_); !ok) {
        spdlog::debug("retention: lease {} not released: {}", name_, ok.error().message);
    }
}

status topic_lease::renew_if_due() {
    const auto now = std::chrono::steady_clock::now();
    if (now - renewed_ < ttl_ / 3) return {};
    auto got = store_->acquire_lease(name_, owner_, ttl_);
    if (!got) return std::unexpected(got.error());
    if (!*got) {
        return fail(errc::conflict, "lease " + name_ + " was taken by " +
                                        holder_of(*store_, name_) + " while " + owner_ +
                                        " held it; stopped");
    }
    renewed_ = now;
    return {};
}

}  // namespace prom::retention
