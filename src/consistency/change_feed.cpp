#include "consistency/change_feed.hpp"

#include <algorithm>
#include <utility>

#include "core/text.hpp"
#include "core/thread_name.hpp"
#include "prom/json.hpp"

namespace prom::consistency {

std::string render_change(const document_change& c, std::string_view shown) {
    // Keys in byte order, as canonical JSON; the body is canonical JSON already.
    std::string out = "{";
    if (!c.deleted) {
        out += R"("body":)";
        out += c.body;
        out += ',';
    }
    out += R"("collection":)";
    out += canonical_json(json::string(shown.empty() ? std::string_view(c.collection) : shown));
    if (c.deleted) {
        out += R"(,"deleted":true)";
    } else {
        out += R"(,"etag":)";
        out += canonical_json(json::string(c.etag));
    }
    out += R"(,"key":)";
    out += canonical_json(json::string(c.key));
    out += R"(,"seq":)";
    out += std::to_string(c.seq.value);
    out += R"(,"ts":)";
    out += std::to_string(c.ts.value);
    out += '}';
    return out;
}

result<bool> collection_known(store& s, std::string_view collection, bool has_writers) {
    if (has_writers) return true;
    auto head = s.last_change(collection);
    if (!head) return std::unexpected(head.error());
    if (head->value != 0) return true;
    auto any = s.find({std::string(collection), {}, 0, 1});
    if (!any) return std::unexpected(any.error());
    return !any->empty();
}

result<seq_t> watch_start_position(store& s, std::string_view collection, bool has_writers,
                                   std::optional<seq_t> last_seen) {
    auto known = collection_known(s, collection, has_writers);
    if (!known) return std::unexpected(known.error());
    if (!*known) {
        return fail(errc::invalid_argument,
                    "unknown collection '" + std::string(collection) +
                        "': no projector writes it and it has no documents");
    }
    auto head = s.last_change(collection);
    if (!head) return std::unexpected(head.error());
    if (!last_seen) return *head;
    if (*last_seen > *head) {
        return fail(errc::invalid_argument,
                    "resume point " + std::to_string(last_seen->value) +
                        " (Last-Event-ID or after) is past the end of '" + std::string(collection) +
                        "' change log (last change " + std::to_string(head->value) + ")");
    }
    return *last_seen;
}

std::optional<seq_t> parse_change_id(std::string_view text) {
    text = trim_ows(text);
    if (text.empty() || text.size() > 18) return std::nullopt;
    std::int64_t n = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + (c - '0');
    }
    return seq_t{n};
}

void change_feed::wake_signal::raise(std::optional<std::uint64_t> watcher) {
    {
        std::lock_guard lock(m);
        raised = true;
        if (watcher) {
            only.push_back(*watcher);
        } else {
            commit = true;
        }
    }
    cv.notify_one();
}

change_feed::change_feed(store& s, std::chrono::milliseconds tick)
    : store_(s), tick_(tick), thread_([this] { run(); }) {
    s.add_commit_listener([weak = std::weak_ptr<wake_signal>(wake_)](const std::vector<document>&) {
        if (auto w = weak.lock()) w->raise();
    });
}

change_feed::~change_feed() { stop(); }

std::uint64_t change_feed::watch(std::string collection, watch_filter filter, seq_t after,
                                 deliver d, std::string shown) {
    std::uint64_t id = 0;
    {
        prom::lock_guard lock(mu_);
        if (stopping_) return 0;
        id = next_id_++;
        watchers_.emplace(
            id, std::make_shared<watcher>(watcher{id, std::move(collection), std::move(shown),
                                                  std::move(filter), after, std::move(d)}));
    }
    wake_->raise(id);  // a resuming watcher may have a backlog to read now
    return id;
}

void change_feed::unwatch(std::uint64_t id) {
    std::shared_ptr<watcher> gone;
    {
        prom::lock_guard lock(mu_);
        auto it = watchers_.find(id);
        if (it == watchers_.end()) return;
        gone = std::move(it->second);
        gone->live = false;
        watchers_.erase(it);
    }
    deliver done;
    {
        prom::lock_guard delivering(deliver_mu_);  // waits out a call in progress
        done = std::move(gone->done);
        gone->done = nullptr;
    }
    // `done` is destroyed here, on the caller's thread.
}

void change_feed::ready(std::uint64_t id) {
    {
        prom::lock_guard lock(mu_);
        auto it = watchers_.find(id);
        if (it == watchers_.end()) return;
        it->second->busy = false;
    }
    wake_->raise(id);
}

void change_feed::stop() {
    {
        prom::lock_guard lock(mu_);
        if (stopping_) return;
        stopping_ = true;
    }
    wake_->raise();
    if (thread_.joinable()) thread_.join();
    std::vector<std::uint64_t> ids;
    {
        prom::lock_guard lock(mu_);
        for (const auto& [id, w] : watchers_) ids.push_back(id);
    }
    for (auto id : ids) unwatch(id);
}

std::size_t change_feed::active() const {
    prom::lock_guard lock(mu_);
    return watchers_.size();
}

std::uint64_t change_feed::delivered() const {
    prom::lock_guard lock(mu_);
    return delivered_;
}

void change_feed::run() {
    name_this_thread("prom-changes");
    for (;;) {
        bool everyone = true;  // the tick: commits nobody told us of
        std::vector<std::uint64_t> only;
        {
            std::unique_lock lock(wake_->m);
            if (wake_->cv.wait_for(lock, tick_, [&] { return wake_->raised; })) {
                everyone = wake_->commit;
                only.swap(wake_->only);
            }
            wake_->raised = false;
            wake_->commit = false;
            wake_->only.clear();
        }
        {
            prom::lock_guard lock(mu_);
            if (stopping_) return;
        }
        std::ranges::sort(only);
        only.erase(std::unique(only.begin(), only.end()), only.end());
        pass(everyone ? nullptr : &only);
    }
}

void change_feed::pass(const std::vector<std::uint64_t>* only) {
    // Only the feed thread reads the log and moves a watcher's `after`.
    // By (physical collection, the name its watchers see): one read and one rendering each.
    std::map<std::pair<std::string, std::string>, std::vector<std::shared_ptr<watcher>>>
        by_collection;
    {
        prom::lock_guard lock(mu_);
        if (only) {
            for (auto id : *only) {
                auto it = watchers_.find(id);
                if (it != watchers_.end() && !it->second->busy) {
                    by_collection[{it->second->collection, it->second->shown}].push_back(
                        it->second);
                }
            }
        } else {
            for (const auto& [id, w] : watchers_) {
                if (!w->busy) by_collection[{w->collection, w->shown}].push_back(w);
            }
        }
    }
    constexpr std::size_t page = 1000;
    std::uint64_t handed = 0;
    for (auto& [names, ws] : by_collection) {
        const auto& [collection, shown] = names;
        // Pages until every watcher of the collection has seen the whole log or is busy.
        for (;;) {
            {
                prom::lock_guard lock(mu_);
                std::erase_if(ws, [](const auto& w) { return w->busy || !w->live; });
            }
            if (ws.empty()) break;
            seq_t from = std::ranges::min(ws, {}, [](const auto& w) { return w->after; })->after;
            change_query q{collection, from, page};
            auto read = changes_fitting(store_, q);
            if (!read || read->empty()) break;  // a failed read is retried on the next wake
            watched_changes rendered;
            rendered.reserve(read->size());
            for (auto& c : *read) {
                auto json = render_change(c, shown);
                rendered.push_back(std::make_shared<const watched_change>(
                    watched_change{std::move(c), std::move(json)}));
            }
            const seq_t last = rendered.back()->change.seq;
            for (auto& w : ws) {
                watched_changes mine;
                for (const auto& c : rendered) {
                    if (c->change.seq > w->after && w->filter.matches(c->change.key)) {
                        mine.push_back(c);
                    }
                }
                if (last > w->after) w->after = last;
                if (mine.empty()) continue;
                {
                    prom::lock_guard lock(mu_);
                    if (!w->live) continue;
                    w->busy = true;  // before the callback: its ready() may come at once
                }
                prom::lock_guard delivering(deliver_mu_);
                if (w->done) {
                    handed += mine.size();
                    w->done(w->id, std::move(mine));
                }
            }
            if (rendered.size() < page) break;
        }
    }
    if (handed) {
        prom::lock_guard lock(mu_);
        delivered_ += handed;
    }
}

}  // namespace prom::consistency
