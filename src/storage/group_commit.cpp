#include "storage/group_commit.hpp"

#include <chrono>

#include "core/thread_name.hpp"
#include "storage/common.hpp"

namespace prom::storage {

group_commit::group_commit(write_function write, std::size_t max_group_events)
    : write_(std::move(write)), max_group_events_(std::max<std::size_t>(max_group_events, 1)) {
    writer_ = std::thread([this] { run(); });
}

group_commit::~group_commit() {
    {
        prom::lock_guard lock(mu_);
        stopping_ = true;
    }
    wake_.notify_one();
    writer_.join();
}

void group_commit::submit(std::vector<event_input> batch, append_callback done) {
    if (auto ok = prepare_inputs(batch); !ok) return done(std::unexpected(ok.error()));
    encode_payloads(batch);
    enqueue({std::move(batch), std::move(done)});
}

void group_commit::enqueue(request r) {
    bool wake = false;
    {
        prom::lock_guard lock(mu_);
        queue_.push_back(std::move(r));
        // A busy writer comes back for the queue by itself: no syscall for this request.
        wake = writer_waiting_;
        writer_waiting_ = false;
    }
    if (wake) wake_.notify_one();
}

result<std::vector<append_result>> group_commit::append(std::vector<event_input> batch) {
    if (auto ok = prepare_inputs(batch); !ok) return std::unexpected(ok.error());
    encode_payloads(batch);
    waiter self;
    enqueue({.batch = std::move(batch), .done = {}, .blocked = &self});
    self.wait();
    return std::move(self.out);
}

void group_commit::answer(std::vector<request>& group) {
    woken_.clear();
    for (auto& r : group) {
        if (!r.blocked) continue;
        r.blocked->out = std::move(r.out);
        woken_.push_back(r.blocked);
    }
    // A binary tree over the blocked callers: the writer makes one wake-up, and the last
    // caller is woken after ~log2(n) hops instead of after n calls on the writer.
    for (std::size_t i = 0; i < woken_.size(); ++i) {
        for (std::size_t c = 0; c < 2; ++c) {
            std::size_t child = 2 * i + 1 + c;
            woken_[i]->children[c] = child < woken_.size() ? woken_[child] : nullptr;
        }
    }
    if (!woken_.empty()) woken_.front()->wake();
    woken_.clear();  // gone: a woken caller returns at once
    for (auto& r : group) {
        if (r.blocked) continue;
        try {
            r.done(std::move(r.out));
        } catch (...) {
            // A callback that throws is a bug of its caller; the writer serves the others.
        }
    }
}

void group_commit::run() {
    name_this_thread("prom-writer");
    // Swapped with the queue each round, so both vectors keep their capacity: no allocation
    // per group once the load is steady.
    std::vector<request> group;
    for (;;) {
        std::size_t events = 0;  // the group's, counted as it is taken (before write_ moves them)
        {
            prom::unique_lock lock(mu_);
            while (queue_.empty() && !stopping_) {
                writer_waiting_ = true;
                wake_.wait(lock.native());
            }
            writer_waiting_ = false;
            if (queue_.empty()) return;  // stopping, and everything queued is written
            std::size_t take = 0;
            while (take < queue_.size() && (take == 0 || events < max_group_events_)) {
                events += queue_[take++].batch.size();
            }
            if (take == queue_.size()) {
                group.swap(queue_);
            } else {
                group.assign(
                    std::make_move_iterator(queue_.begin()),
                    std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(take)));
                queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(take));
            }
        }
        const auto started = std::chrono::steady_clock::now();
        write_(group);
        stats_.duration.record(std::chrono::steady_clock::now() - started);
        stats_.events.fetch_add(events, std::memory_order_relaxed);
        answer(group);
        group.clear();
    }
}

}  // namespace prom::storage
