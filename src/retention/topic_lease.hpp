// The lease `prom.retention/<topic>` (docs/retention.md): one pass or erasure of a topic at
// a time, across threads, processes and nodes. A second one is refused with errc::conflict
// naming the holder; a holder killed mid-way blocks the topic until its lease expires.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "prom/store.hpp"

namespace prom::retention {

std::string lease_name(std::string_view topic);

class topic_lease {
  public:
    // Takes the lease for `owner` (or renews it, when `owner` holds it already: a node that
    // restarts after a kill resumes at once). `what` names the work in the conflict message.
    static result<topic_lease> take(store& s, std::string_view topic, std::string owner,
                                    std::chrono::milliseconds ttl, std::string_view what);

    topic_lease(topic_lease&& other) noexcept;
    topic_lease& operator=(topic_lease&&) = delete;
    topic_lease(const topic_lease&) = delete;
    topic_lease& operator=(const topic_lease&) = delete;
    ~topic_lease();  // releases it (best effort: it expires anyway)

    // Renews it once a third of its ttl has passed; errc::conflict when another owner took
    // it meanwhile (an operator seized it, or this holder stalled past the ttl).
    status renew_if_due();

  private:
    topic_lease(store& s, std::string name, std::string owner, std::chrono::milliseconds ttl);

    store* store_;
    std::string name_;
    std::string owner_;
    std::chrono::milliseconds ttl_;
    std::chrono::steady_clock::time_point renewed_;
};

}  // namespace prom::retention
