// One WebSocket connection of the gateway. Beast does the RFC 6455 work (masking, reserved
// bits, opcodes, control frames, UTF-8 of text frames, close codes, message size); this file
// does authentication, the protocol's requests and the per-connection send queue.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <map>
#include <set>

#include "auth/browser_guard.hpp"
#include "bus/delivery_pool.hpp"
#include "docs/reserved.hpp"
#include "docs/update.hpp"
#include "http/http_server.hpp"
#include "http/request.hpp"
#include "http/server_context.hpp"
#include "prom/user_projector.hpp"
#include "schema/payload_schemas.hpp"
#include "userproj_runtime/collection_aliases.hpp"
#include "ws/close_code_guard.hpp"
#include "ws/gateway.hpp"
#include "ws/handshake.hpp"
#include "ws/protocol.hpp"

namespace prom::ws {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace bhttp = beast::http;

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

// How often a connection with pattern subscriptions looks for new matching topics (only
// when the store's change counter moved since its last look).
constexpr std::chrono::milliseconds pattern_poll{500};

// What the gateway needs of a live session to shut it down.
class session_base {
  public:
    virtual ~session_base() = default;
    virtual void shutdown() = 0;  // any thread; stops its subscriptions before returning
};

struct gateway::state {
    state(store& s, const auth::auth_policy& p, gateway_options o)
        : store_(s),
          bus_(s),
          policy(p),
          options(o),
          blocking(o.blocking_threads),
          delivery(s, o.delivery_threads) {}

    store& store_;
    bus bus_;
    const auth::auth_policy& policy;
    gateway_options options;
    gateway_metrics metrics;
    net::thread_pool blocking;
    // Every subscription of every connection: a few threads, not one per subscription.
    bus_internal::delivery_pool delivery;
    prom::mutex sessions_mu;
    std::condition_variable sessions_cv;
    std::size_t sessions PROM_GUARDED_BY(sessions_mu) = 0;
    // Publishes handed to the store whose replies are not posted yet: the gateway waits for
    // them, so no callback posts to a gone executor.
    std::size_t publishes_in_flight PROM_GUARDED_BY(sessions_mu) = 0;
    std::uint64_t next_session PROM_GUARDED_BY(sessions_mu) = 0;
    // Set by shutdown(); a session accepted after it closes at once.
    bool stopping PROM_GUARDED_BY(sessions_mu) = false;
    std::map<std::uint64_t, std::weak_ptr<session_base>> live PROM_GUARDED_BY(sessions_mu);
};

namespace {

using ws_stream = websocket::stream<close_code_guard_stream>;

struct outgoing {
    std::shared_ptr<const std::string> text;
    // Subscription batches: called once, with whether the frame was written (flow control).
    std::function<void(bool)> written;
};

class session final : public session_base, public std::enable_shared_from_this<session> {
  public:
    session(gateway::state& gw, ws_stream ws, const auth::grant* grant)
        : gw_(gw),
          ws_(std::move(ws)),
          wake_(ws_.get_executor()),
          pattern_timer_(ws_.get_executor()),
          write_timer_(ws_.get_executor()),
          grant_(grant) {
        wake_.expires_at(net::steady_timer::time_point::max());
    }

    net::awaitable<void> run(beast::flat_buffer buffer);

    void shutdown() override {
        net::post(ws_.get_executor(), [self = shared_from_this()] {
            const bool was_open = !self->closed_ && self->ws_.is_open();
            self->closed_ = true;
            self->wake_.cancel();
            self->pattern_timer_.cancel();
            self->write_timer_.cancel();
            auto close_socket = [self] {
                boost::system::error_code ec;
                beast::get_lowest_layer(self->ws_).socket().close(ec);
            };
            if (!was_open) return close_socket();
            // A server going down says so (RFC 6455 7.4.1: 1001, going away), so that a
            // client can tell a restart from a broken network (found from outside: the socket
            // was closed without a close frame). Beast sends it after a frame being written;
            // a client that takes nothing, or never answers the close, is cut after a second.
            auto deadline = std::make_shared<net::steady_timer>(self->ws_.get_executor(),
                                                                std::chrono::seconds(1));
            deadline->async_wait([close_socket](boost::system::error_code ec) {
                if (!ec) close_socket();
            });
            self->ws_.async_close(websocket::close_code::going_away,
                                  [deadline, close_socket](boost::system::error_code) {
                                      deadline->cancel();
                                      close_socket();
                                  });
        });
        stop_subscriptions();
    }

    // Any thread: queue a frame. Returns false when the connection is closing.
    void enqueue(outgoing o) {
        net::post(ws_.get_executor(), [self = shared_from_this(), o = std::move(o)]() mutable {
            self->push(std::move(o));
        });
    }

  private:
    void push(outgoing o) {
        if (closed_ || (!o.written && queue_.size() >= gw_.options.max_queued_frames)) {
            if (o.written) o.written(false);
            if (!closed_) drop("too many replies waiting: the client does not read");
            return;
        }
        queue_.push_back(std::move(o));
        wake_.cancel();
    }

    // Ends the connection without a close handshake (the peer is not reading, so a close
    // frame could not be written either).
    void drop(const char* why) {
        spdlog::warn("ws: dropping a client: {}", why);
        gw_.metrics.slow_consumers_dropped += 1;
        closed_ = true;
        boost::system::error_code ec;
        beast::get_lowest_layer(ws_).socket().close(ec);
    }

    net::awaitable<void> writer();
    void handle(std::string_view text);
    void subscribe(const std::string& id, subscribe_cmd cmd);
    std::shared_ptr<bus_internal::delivery_pool::consumer> start_consumer(const subscribe_cmd& cmd)
        PROM_REQUIRES(subs_mu_);
    void unsubscribe(const std::string& id, const unsubscribe_cmd& cmd);
    void unsubscribe_pattern(const std::string& id, const unsubscribe_cmd& cmd);
    void watch_patterns(std::chrono::milliseconds delay);
    void expand_patterns(bool always) PROM_EXCLUDES(subs_mu_);
    void ack(const std::string& id, const ack_cmd& cmd);
    void publish(const std::string& id, publish_cmd cmd);
    void watch(const std::string& id, watch_cmd cmd);
    void unwatch(const std::string& id, const unwatch_cmd& cmd);
    // The watch has started (on the gateway's blocking pool) or failed to.
    void watch_opened(const std::string& name, std::uint64_t token, std::uint64_t feed_id);
    void reply(std::string text) {
        push({std::make_shared<const std::string>(std::move(text)), nullptr});
    }
    bool allowed(auth::action what, std::string_view topic) const {
        return !gw_.policy.enabled() ||
               (grant_ && auth::auth_policy::permits(*grant_, what, topic));
    }
    void stop_subscriptions();
    // The `forbidden` error frame when the token may not consume `topic` as `group`.
    std::optional<std::string> refusal(const std::string& id, const std::string& topic,
                                       const std::string& group) const {
        // A pattern takes only the topics the token may read (expand_patterns): refused only
        // when no topic it can match is readable, so a wider pattern is narrowed, not refused.
        if (gw_.policy.enabled() && (!grant_ || !auth::auth_policy::permits_some(
                                                    *grant_, auth::action::subscribe, topic))) {
            return error_frame(id, "forbidden", "this token may not subscribe to '" + topic + "'");
        }
        // An ephemeral subscription (group "") stores nothing and takes no lease: the token's
        // `groups` do not apply to it (docs/ws-protocol.md).
        if (!group.empty() && !allowed(auth::action::group, group)) {
            return error_frame(id, "forbidden",
                               "this token may not consume as group '" + group + "'");
        }
        return std::nullopt;
    }

    gateway::state& gw_;
    ws_stream ws_;
    net::steady_timer wake_;
    net::steady_timer pattern_timer_;  // the next look for new topics of the patterns
    net::steady_timer write_timer_;    // the send timeout of the frame being written
    const auth::grant* grant_;
    // On the connection's strand only:
    std::deque<outgoing> queue_;
    std::uint64_t writes_ = 0;    // frames whose write began
    bool writing_ = false;        // a frame's write is under way
    bool pattern_watch_ = false;  // pattern_timer_ is armed or its look is under way
    // Read by subscription threads:
    std::atomic<bool> closed_{false};
    prom::mutex subs_mu_;
    std::map<std::pair<std::string, std::string>,
             std::shared_ptr<bus_internal::delivery_pool::consumer>>
        subs_ PROM_GUARDED_BY(subs_mu_);
    // What the connection's strand knows of one subscription, shared with its delivery
    // callbacks.
    struct stream_state {
        // The last seq handed to this client's writer: an ack may not pass it.
        std::atomic<std::int64_t> delivered{0};
        // False from the subscription's `unsubscribe` on: a frame of it that reaches the
        // strand later is dropped, so none follows its `unsubscribed` (nor comes before a
        // new subscription's frames of the same topic and group).
        std::atomic<bool> live{true};
    };
    std::map<std::pair<std::string, std::string>, std::shared_ptr<stream_state>> streams_
        PROM_GUARDED_BY(subs_mu_);
    // Marks the subscription (topic, group) ended (under subs_mu_, on the strand).
    void end_subscription(const std::pair<std::string, std::string>& key) PROM_REQUIRES(subs_mu_) {
        if (auto it = streams_.find(key); it != streams_.end()) {
            it->second->live.store(false);
            streams_.erase(it);
        }
    }
    // Watches by name (collection, key or prefix). The token tells one watch of a name from
    // a later one of the same name: a registration that completes after its watch was
    // unwatched (or replaced) delivers nothing and is undone.
    struct watch_entry {
        std::uint64_t token = 0;
        std::uint64_t feed_id = 0;  // 0 while it opens
    };
    std::map<std::string, watch_entry> watches_ PROM_GUARDED_BY(subs_mu_);
    std::uint64_t next_watch_token_ PROM_GUARDED_BY(subs_mu_) = 0;
    // Whether the watch `token` of `name` is still wanted.
    bool watch_wanted(const std::string& name, std::uint64_t token);
    // The entry of the watch `token` of `name`, or watches_.end() if it is gone or replaced.
    std::map<std::string, watch_entry>::iterator find_watch(const std::string& name,
                                                            std::uint64_t token)
        PROM_REQUIRES(subs_mu_);
    // Pattern subscriptions ("topic": "order.*") by (pattern, group): each matching topic
    // gets a consumer of its own in subs_, under its own name, as the topic appears.
    struct pattern_sub {
        subscribe_cmd cmd;
        std::string id;  // the subscribe request's, echoed in what the pattern is told
        std::set<std::string, std::less<>> topics;  // the topics it added to subs_
        bool looked = false;                        // its first look at the topics is done
        bool told_too_many = false;
        // Its `subscribed` answer, sent by the first look once the topics' positions are
        // taken: an event published after the answer is one the subscription gets.
        std::shared_ptr<const std::string> answer;
    };
    std::map<std::pair<std::string, std::string>, pattern_sub> patterns_ PROM_GUARDED_BY(subs_mu_);
    // The store's change counter at the last look for new topics (blocking threads).
    std::atomic<std::uint64_t> looked_at_version_{0};
};

// A connection's name of a watch: what watch and unwatch both say.
std::string watch_name(std::string_view collection, const std::optional<std::string>& key,
                       std::string_view prefix) {
    std::string n(collection);
    n += key ? "\x1fk" : "\x1fp";
    n += key ? std::string_view(*key) : prefix;
    return n;
}

net::awaitable<void> session::writer() {
    auto self = shared_from_this();
    while (!closed_) {
        if (queue_.empty()) {
            co_await wake_.async_wait(use_tuple);
            continue;
        }
        outgoing o = std::move(queue_.front());
        queue_.pop_front();
        ws_.text(true);
        // The send timeout runs while a frame is being written, from the start of its write:
        // a client that takes nothing for that long is dropped (docs/ws-protocol.md, slow
        // consumers). Timed from when a batch was queued instead, a client reading steadily
        // was dropped for the frames of its other subscriptions ahead of it (found from
        // outside). Both handlers run on this strand; the count tells a fire meant for an
        // earlier write from one for this write.
        const std::uint64_t this_write = ++writes_;
        write_timer_.expires_after(gw_.options.send_timeout);
        write_timer_.async_wait([self, this_write](boost::system::error_code ec) {
            if (!ec && !self->closed_ && self->writes_ == this_write && self->writing_) {
                self->drop("a frame was not read within the send timeout");
            }
        });
        writing_ = true;
        auto [ec, n] = co_await ws_.async_write(net::buffer(*o.text), use_tuple);
        writing_ = false;
        write_timer_.cancel();
        if (o.written) o.written(!ec);
        if (ec) closed_ = true;
    }
    for (auto& o : queue_) {
        if (o.written) o.written(false);
    }
    queue_.clear();
}

net::awaitable<void> session::run(beast::flat_buffer buffer) {
    auto self = shared_from_this();
    // A close frame ends the session at once: the read below completes only after Beast's
    // teardown, which waits for the peer's TCP close (up to its idle ping, ~150 s), and the
    // group's next consumer must not wait that long for the lease.
    ws_.control_callback([weak = weak_from_this()](websocket::frame_type kind, beast::string_view) {
        if (kind != websocket::frame_type::close) return;
        if (auto s = weak.lock()) s->stop_subscriptions();
    });
    net::co_spawn(ws_.get_executor(), writer(), net::detached);
    for (;;) {
        auto [ec, n] = co_await ws_.async_read(buffer, use_tuple);
        if (ec) break;
        if (!ws_.got_text()) {
            reply(error_frame("", "bad_request", "binary messages are not part of the protocol"));
        } else {
            auto data = buffer.cdata();
            handle(std::string_view(static_cast<const char*>(data.data()), data.size()));
        }
        buffer.consume(buffer.size());
    }
    closed_ = true;
    wake_.cancel();
    pattern_timer_.cancel();
    stop_subscriptions();
}

// Never blocks: each consumer gives its lease back on the delivery pool.
void session::stop_subscriptions() {
    std::map<std::string, watch_entry> watches;
    {
        prom::lock_guard lock(subs_mu_);
        for (auto& [key, sub] : subs_) sub->stop();
        subs_.clear();
        patterns_.clear();
        watches.swap(watches_);
    }
    for (auto& [name, w] : watches) {
        if (w.feed_id) gw_.options.feed->unwatch(w.feed_id);
    }
}

void session::handle(std::string_view text) {
    auto parsed = parse_command(text);
    if (auto* err = std::get_if<protocol_error>(&parsed)) {
        return reply(error_frame(err->id, err->code, err->message));
    }
    auto& c = std::get<command>(parsed);
    std::visit(
        [&](auto&& op) {
            using T = std::decay_t<decltype(op)>;
            if constexpr (std::is_same_v<T, subscribe_cmd>)
                subscribe(c.id, std::forward<decltype(op)>(op));
            if constexpr (std::is_same_v<T, unsubscribe_cmd>) unsubscribe(c.id, op);
            if constexpr (std::is_same_v<T, ack_cmd>) ack(c.id, op);
            if constexpr (std::is_same_v<T, publish_cmd>)
                publish(c.id, std::forward<decltype(op)>(op));
            if constexpr (std::is_same_v<T, watch_cmd>) watch(c.id, std::forward<decltype(op)>(op));
            if constexpr (std::is_same_v<T, unwatch_cmd>) unwatch(c.id, op);
        },
        c.op);
}

void session::subscribe(const std::string& id, subscribe_cmd cmd) {
    if (auto no = refusal(id, cmd.topic, cmd.group)) return reply(std::move(*no));
    if (!is_topic_pattern(cmd.topic) && cmd.from == start_from::latest && !cmd.from_seq &&
        !cmd.from_ts) {
        // "Latest" as of the `subscribed` answer, not as of whenever the consumer first runs:
        // an event published after the answer is delivered (found in CI under load: missed).
        // One read of the topic's row, as the answer needs it before it is sent.
        if (auto t = gw_.store_.topic(cmd.topic); t) {
            cmd.from_seq = (*t ? (*t)->last_seq : seq_t{}) + 1;
        }
    }
    prom::lock_guard lock(subs_mu_);
    auto key = std::make_pair(cmd.topic, cmd.group);
    if (subs_.contains(key) || patterns_.contains(key)) {
        return reply(error_frame(id, "conflict", "already subscribed to this topic and group"));
    }
    if (subs_.size() + watches_.size() >= gw_.options.max_subscriptions) {  // watches count
        return reply(error_frame(id, "too_many", "too many subscriptions on one connection"));
    }
    const bool pattern = is_topic_pattern(cmd.topic);
    auto answer =
        reply_frame(id, "subscribed", json::object{{"topic", cmd.topic}, {"group", cmd.group}});
    if (pattern) {
        patterns_[key] = pattern_sub{
            .cmd = cmd, .id = id, .answer = std::make_shared<const std::string>(std::move(answer))};
    } else {
        subs_[key] = start_consumer(cmd);
        reply(std::move(answer));
    }
    if (pattern) {
        // The first look now (on a blocking thread: it reads the store), then the watch.
        std::weak_ptr<session> weak = weak_from_this();
        net::post(gw_.blocking, [weak] {
            if (auto self = weak.lock()) self->expand_patterns(true);
        });
        watch_patterns(pattern_poll);
    }
}

// One consumer of one topic; the frames it sends name that topic, so the client acks it.
std::shared_ptr<bus_internal::delivery_pool::consumer> session::start_consumer(
    const subscribe_cmd& cmd) {
    std::weak_ptr<session> weak = weak_from_this();
    gateway_metrics* metrics = &gw_.metrics;
    std::string topic = cmd.topic, group = cmd.group;
    // The last seq handed to this connection's writer, set on its strand before the frame is
    // written: an ack (read on the same strand) can never find it behind what the client saw.
    auto stream = std::make_shared<stream_state>();
    streams_[{topic, group}] = stream;
    // Runs on the delivery pool and returns at once: the frame is queued on the connection's
    // strand, and `done` is called when it is written (the writer drops a client that takes
    // nothing within the send timeout: docs/ws-protocol.md, slow consumers).
    auto deliver = [weak, metrics, topic, group, stream](
                       std::vector<event> batch, bus_internal::delivery_pool::done_fn done) {
        auto self = weak.lock();
        if (!self || self->closed_) return done(false);
        auto text = std::make_shared<const std::string>(events_frame(topic, group, batch));
        const std::size_t count = batch.size();
        const std::int64_t last = batch.empty() ? 0 : batch.back().seq.value;
        net::post(self->ws_.get_executor(),
                  [self, text, count, metrics, stream, last, done = std::move(done)]() mutable {
                      if (!stream->live.load()) return done(false);  // unsubscribed meanwhile
                      stream->delivered.store(std::max(stream->delivered.load(), last));
                      self->push({text, [count, metrics, done = std::move(done)](bool ok) {
                                      if (ok) metrics->events_sent += count;
                                      done(ok);
                                  }});
                  });
    };
    // On the pool once the frame is written: without manualAck a written batch is acknowledged.
    bus* b = &gw_.bus_;
    const bool auto_ack = !cmd.manual_ack && !cmd.group.empty();
    auto settle = [b, auto_ack, topic, group](seq_t last) -> std::optional<seq_t> {
        if (!auto_ack) return last;
        if (auto ok = b->ack(topic, group, last); !ok) {
            spdlog::warn("subscriber {}/{}: ack failed: {}", topic, group, ok.error().message);
            return std::nullopt;
        }
        return last;
    };
    // An ephemeral subscription says where it starts (queued before its first batch, on the
    // same strand): a client that reconnects before any event came resumes from there, so
    // `latest` loses nothing published while it was away (docs/ws-protocol.md, `started`).
    std::function<void(seq_t)> on_start;
    if (cmd.group.empty()) {
        on_start = [weak, topic, stream](seq_t after) {
            auto self = weak.lock();
            if (!self || self->closed_) return;
            auto text = std::make_shared<const std::string>(
                reply_frame("", "started",
                            json::object{{"topic", topic}, {"group", ""}, {"after", after.value}}));
            net::post(self->ws_.get_executor(), [self, text, stream] {
                if (stream->live.load()) self->push({text, nullptr});
            });
        };
    }
    return gw_.delivery.add({.topic = cmd.topic,
                             .group = cmd.group,
                             .from = cmd.from,
                             .batch_size = cmd.batch_size,
                             .ephemeral = cmd.group.empty(),
                             .from_seq = cmd.from_seq,
                             .from_ts = cmd.from_ts,
                             .on_start = std::move(on_start)},
                            std::move(deliver), std::move(settle));
}

// On the strand: looks for new topics of the patterns after `delay`, then every
// pattern_poll while any pattern subscription remains. One timer per connection.
void session::watch_patterns(std::chrono::milliseconds delay) {
    if (pattern_watch_ || closed_) return;
    pattern_watch_ = true;
    pattern_timer_.expires_after(delay);
    std::weak_ptr<session> weak = weak_from_this();
    pattern_timer_.async_wait([weak](boost::system::error_code ec) {
        auto self = weak.lock();
        if (!self) return;
        if (ec || self->closed_) {
            self->pattern_watch_ = false;
            return;
        }
        net::post(self->gw_.blocking, [self] {
            self->expand_patterns(false);
            net::post(self->ws_.get_executor(), [self] {
                self->pattern_watch_ = false;
                bool any = false;
                {
                    prom::lock_guard lock(self->subs_mu_);
                    any = !self->patterns_.empty();
                }
                if (any) self->watch_patterns(pattern_poll);
            });
        });
    });
}

// On a blocking thread: adds a consumer for every topic a pattern matches that has none
// yet. `always`: a new pattern; otherwise only when a commit happened since the last look.
void session::expand_patterns(bool always) {
    const std::uint64_t version = gw_.store_.change_version();
    if (!always && looked_at_version_.exchange(version) == version) return;
    if (always) looked_at_version_ = version;
    auto topics = gw_.store_.topics();
    if (!topics) {
        spdlog::warn("ws: topics of a pattern subscription: {}", topics.error().message);
        looked_at_version_ = 0;  // look again next time
        return;
    }
    prom::lock_guard lock(subs_mu_);
    if (closed_) return;
    for (auto& [key, p] : patterns_) {
        // Answered before any of its consumers exists, so no frame of theirs comes first
        // (found in CI: answered before this look, a `from: latest` pattern missed an event
        // published right after `subscribed`).
        if (p.answer) enqueue({std::exchange(p.answer, nullptr), nullptr});
        for (const auto& t : *topics) {
            if (p.topics.contains(t.topic) || !topic_matches(p.cmd.topic, t.topic)) continue;
            // A topic the token may not read, or one subscribed to by name: not this one's.
            if (!allowed(auth::action::subscribe, t.topic)) continue;
            auto one = std::make_pair(t.topic, p.cmd.group);
            if (subs_.contains(one)) continue;
            if (subs_.size() + watches_.size() >= gw_.options.max_subscriptions) {
                if (!p.told_too_many) {
                    // With the subscribe request's id, as a named subscription's refusal
                    // has (found from outside), and how many more are left out (found
                    // from outside: a page said one topic was missing where six were).
                    // (A loop, not a lambda: clang's thread-safety analysis does not see
                    // subs_mu_ held inside one, and clang 15 cannot capture the binding.)
                    std::size_t more = 0;
                    for (auto o = topics->begin() + (&t - topics->data()) + 1; o != topics->end();
                         ++o) {
                        if (topic_matches(p.cmd.topic, o->topic) && !p.topics.contains(o->topic) &&
                            allowed(auth::action::subscribe, o->topic) &&
                            !subs_.contains(std::make_pair(o->topic, p.cmd.group))) {
                            ++more;
                        }
                    }
                    std::string which = "'" + t.topic + "'";
                    if (more > 0) which += " and " + std::to_string(more) + " more topics";
                    enqueue({std::make_shared<const std::string>(
                                 error_frame(p.id, "too_many",
                                             "too many subscriptions on one connection: " + which +
                                                 " of pattern '" + p.cmd.topic + "' " +
                                                 (more > 0 ? "are" : "is") + " not delivered")),
                             nullptr});
                }
                p.told_too_many = true;
                break;
            }
            subscribe_cmd c = p.cmd;
            c.topic = t.topic;
            c.from_seqs.reset();
            if (p.cmd.from_seqs) {
                // A resumed pattern: each topic it names where the client left it, any
                // other (new to the client) from its first event.
                auto at = p.cmd.from_seqs->find(t.topic);
                if (at != p.cmd.from_seqs->end()) {
                    c.from_seq = at->second;
                } else {
                    c.from = start_from::earliest;
                }
            } else if (p.looked) {
                // A topic that appeared after the subscription is new to it from its first
                // event.
                c.from = start_from::earliest;
            } else if (c.from == start_from::latest) {
                // "Latest" as of this look, which the answer follows: not as of whenever the
                // consumer first runs.
                c.from_seq = t.last_seq + 1;
            }
            subs_[one] = start_consumer(c);
            p.topics.insert(t.topic);
        }
        p.looked = true;
    }
}

void session::unsubscribe(const std::string& id, const unsubscribe_cmd& cmd) {
    if (is_topic_pattern(cmd.topic)) return unsubscribe_pattern(id, cmd);
    std::shared_ptr<bus_internal::delivery_pool::consumer> sub;
    {
        prom::lock_guard lock(subs_mu_);
        auto it = subs_.find({cmd.topic, cmd.group});
        if (it == subs_.end()) return reply(error_frame(id, "not_found", "no such subscription"));
        sub = std::move(it->second);
        subs_.erase(it);
        end_subscription({cmd.topic, cmd.group});
    }
    auto self = shared_from_this();
    // The reply comes once the lease is given back: the group's next consumer may take over.
    sub->stop([self, id, cmd] {
        self->enqueue(
            {std::make_shared<const std::string>(reply_frame(
                 id, "unsubscribed", json::object{{"topic", cmd.topic}, {"group", cmd.group}})),
             nullptr});
    });
}

// Stops every consumer the pattern added; the reply comes once all gave their lease back.
void session::unsubscribe_pattern(const std::string& id, const unsubscribe_cmd& cmd) {
    std::vector<std::shared_ptr<bus_internal::delivery_pool::consumer>> subs;
    {
        prom::lock_guard lock(subs_mu_);
        auto it = patterns_.find({cmd.topic, cmd.group});
        if (it == patterns_.end())
            return reply(error_frame(id, "not_found", "no such subscription"));
        for (const auto& topic : it->second.topics) {
            if (auto s = subs_.find({topic, cmd.group}); s != subs_.end()) {
                subs.push_back(std::move(s->second));
                subs_.erase(s);
                end_subscription({topic, cmd.group});
            }
        }
        patterns_.erase(it);
    }
    auto self = shared_from_this();
    auto answer = [self, id, cmd] {
        self->enqueue(
            {std::make_shared<const std::string>(reply_frame(
                 id, "unsubscribed", json::object{{"topic", cmd.topic}, {"group", cmd.group}})),
             nullptr});
    };
    if (subs.empty()) return answer();
    auto left = std::make_shared<std::atomic<std::size_t>>(subs.size());
    for (auto& s : subs) {
        s->stop([left, answer] {
            if (left->fetch_sub(1) == 1) answer();
        });
    }
}

void session::ack(const std::string& id, const ack_cmd& cmd) {
    // Moving a group's cursor is consuming as that group: the same permissions as subscribe.
    if (auto no = refusal(id, cmd.topic, cmd.group)) return reply(std::move(*no));
    std::shared_ptr<bus_internal::delivery_pool::consumer> consumer;
    {
        prom::lock_guard lock(subs_mu_);
        auto sub = subs_.find({cmd.topic, cmd.group});
        if (sub == subs_.end()) {
            return reply(
                error_frame(id, "not_found", "ack needs a subscription of this topic and group"));
        }
        // Only what this connection received may be acknowledged: a standby (or a consumer
        // acking ahead) would otherwise make the group skip events nobody has received.
        if (!sub->second->active()) {
            return reply(error_frame(
                id, "conflict",
                "this connection does not hold the lease of group '" + cmd.group +
                    "' (another consumer is active, or the lease is still being taken): only "
                    "the consumer receiving its events acks"));
        }
        auto got = streams_.find({cmd.topic, cmd.group});
        const std::int64_t last = got == streams_.end() ? 0 : got->second->delivered.load();
        if (cmd.seq.value > last) {
            return reply(error_frame(id, "bad_request",
                                     "seq " + std::to_string(cmd.seq.value) +
                                         " was not delivered on this connection (last delivered: " +
                                         std::to_string(last) + ")"));
        }
        consumer = sub->second;
    }
    auto self = shared_from_this();
    net::post(gw_.blocking, [self, id, cmd, consumer = std::move(consumer)] {
        // The flag read above may be stale: a lease that passed to another consumer since
        // (this connection paused longer than the lease, or an operator revoked it) makes the
        // cursor that consumer's, and an ack from here would move it under it.
        if (auto held = consumer->confirm_lease(); !held || !*held) {
            return self->enqueue(
                {std::make_shared<const std::string>(
                     !held ? error_frame(id, error_code_of(held.error().code), held.error().message)
                           : error_frame(id, "conflict",
                                         "the lease of group '" + cmd.group +
                                             "' passed to another consumer: this ack was not "
                                             "applied, and that consumer gets these events")),
                 nullptr});
        }
        auto ok = self->gw_.bus_.ack(cmd.topic, cmd.group, cmd.seq);
        // `cursor`: where the group stands after it, since an ack below the cursor moves
        // nothing (found from outside: the reply to ack 6 after ack 8 read as a step back).
        auto at = ok ? self->gw_.bus_.cursor(cmd.topic, cmd.group) : result<seq_t>{};
        std::string text = !ok ? error_frame(id, error_code_of(ok.error().code), ok.error().message)
                           : !at
                               ? error_frame(id, error_code_of(at.error().code), at.error().message)
                               : reply_frame(id, "acked",
                                             json::object{{"topic", cmd.topic},
                                                          {"group", cmd.group},
                                                          {"seq", cmd.seq.value},
                                                          {"cursor", at->value}});
        self->enqueue({std::make_shared<const std::string>(std::move(text)), nullptr});
    });
}

void session::publish(const std::string& id, publish_cmd cmd) {
    for (const auto& e : cmd.events) {
        if (!allowed(auth::action::publish, e.topic)) {
            return reply(
                error_frame(id, "forbidden", "this token may not publish to '" + e.topic + "'"));
        }
    }
    // No thread waits for the commit: the store's writer calls back once the events are
    // durable, and the reply is rendered and queued on the connection's strand.
    auto self = shared_from_this();
    {
        prom::lock_guard lock(gw_.sessions_mu);
        ++gw_.publishes_in_flight;
    }
    gw_.store_.append_async(std::move(cmd.events), [self,
                                                    id](result<std::vector<append_result>> r) {
        auto& gw = self->gw_;
        net::post(self->ws_.get_executor(), [self, id, r = std::move(r)] {
            std::string text;
            if (r) {
                json::array results;
                for (const auto& a : *r) results.push_back(to_json(a));
                self->gw_.metrics.published += r->size();
                text = reply_frame(id, "published", json::object{{"results", std::move(results)}});
            } else {
                text = r.error().code == errc::invalid_payload
                           ? reply_frame(id, "error", schema::invalid_payload_json(r.error()))
                           : error_frame_of(id, r.error());
            }
            self->push({std::make_shared<const std::string>(std::move(text)), nullptr});
        });
        {
            prom::lock_guard lock(gw.sessions_mu);
            --gw.publishes_in_flight;
            gw.sessions_cv.notify_all();  // under the lock: the gateway may go right after
        }
    });
}

void session::watch(const std::string& id, watch_cmd cmd) {
    if (!docs::valid_collection_name(cmd.collection)) {
        return reply(
            error_frame(id, "bad_request", "bad collection name '" + cmd.collection + "'"));
    }
    if (docs::reserved_collection(cmd.collection)) {
        return reply(error_frame(id, "not_found", "no collection '" + cmd.collection + "'"));
    }
    if (!allowed(auth::action::read, cmd.collection)) {
        return reply(
            error_frame(id, "forbidden", "this token may not read '" + cmd.collection + "'"));
    }
    if (!gw_.options.feed) {
        return reply(error_frame(id, "not_implemented", "watches are not enabled"));
    }
    std::string name = watch_name(cmd.collection, cmd.key, cmd.prefix);
    std::uint64_t token = 0;
    {
        prom::lock_guard lock(subs_mu_);
        if (watches_.contains(name)) {
            return reply(error_frame(id, "conflict",
                                     cmd.key ? "already watching this collection and key"
                                     : cmd.prefix.empty()
                                         ? "already watching this whole collection"
                                         : "already watching this collection and prefix"));
        }
        if (subs_.size() + watches_.size() >= gw_.options.max_subscriptions) {
            return reply(error_frame(id, "too_many", "too many subscriptions on one connection"));
        }
        token = ++next_watch_token_;
        watches_.emplace(name, watch_entry{token});
    }
    // Where it starts reads the store: on the blocking pool, like acks.
    auto self = shared_from_this();
    net::post(gw_.blocking, [self, id, token, cmd = std::move(cmd),
                             name = std::move(name)]() mutable {
        auto& gw = self->gw_;
        std::shared_ptr<const userproj::collection_map> hold;
        std::string physical = gw.options.aliases
                                   ? std::string(gw.options.aliases->resolve(cmd.collection, hold))
                                   : cmd.collection;
        bool has_writers = gw.options.writers_of && !gw.options.writers_of(cmd.collection).empty();
        auto start = consistency::watch_start_position(gw.store_, physical, has_writers, cmd.after);
        if (!start) {
            {
                prom::lock_guard lock(self->subs_mu_);
                if (auto it = self->find_watch(name, token); it != self->watches_.end()) {
                    self->watches_.erase(it);
                }
            }
            self->enqueue({std::make_shared<const std::string>(error_frame(
                               id, error_code_of(start.error().code), start.error().message)),
                           nullptr});
            return;
        }
        auto fields = watch_fields(cmd.collection, cmd.key, cmd.prefix);
        fields["after"] = start->value;
        // Queued before the feed can deliver: the reply comes first.
        self->enqueue(
            {std::make_shared<const std::string>(reply_frame(id, "watching", std::move(fields))),
             nullptr});
        consistency::watch_filter filter;
        if (cmd.key) {
            filter.exact = true;
            filter.key = *cmd.key;
        } else {
            filter.prefix = cmd.prefix;
        }
        std::weak_ptr<session> weak = self;
        consistency::change_feed* feed = gw.options.feed;
        // On the feed thread: one frame per delivery; the next comes once it is written
        // (change_feed.hpp, flow control), so a slow client only falls behind in the log.
        // The writer's send timeout drops a client that takes nothing (docs/ws-protocol.md).
        auto deliver = [weak, feed, name, token](std::uint64_t feed_id,
                                                 consistency::watched_changes changes) {
            auto s = weak.lock();
            // Unwatched while its registration was completing: watch_opened undoes it.
            if (!s || s->closed_ || !s->watch_wanted(name, token)) return;
            std::string body = R"({"changes":[)";
            for (std::size_t i = 0; i < changes.size(); ++i) {
                if (i) body += ',';
                body += changes[i]->json;
            }
            body += R"(],"op":"changes"})";
            auto text = std::make_shared<const std::string>(std::move(body));
            net::post(s->ws_.get_executor(), [s, text, feed, feed_id] {
                s->push({text, [feed, feed_id](bool ok) {
                             if (ok) feed->ready(feed_id);
                         }});
            });
        };
        auto feed_id =
            feed->watch(physical, std::move(filter), *start, std::move(deliver), cmd.collection);
        self->watch_opened(name, token, feed_id);
    });
}

std::map<std::string, session::watch_entry>::iterator session::find_watch(const std::string& name,
                                                                          std::uint64_t token) {
    auto it = watches_.find(name);
    return it != watches_.end() && it->second.token == token ? it : watches_.end();
}

bool session::watch_wanted(const std::string& name, std::uint64_t token) {
    prom::lock_guard lock(subs_mu_);
    return find_watch(name, token) != watches_.end();
}

void session::watch_opened(const std::string& name, std::uint64_t token, std::uint64_t feed_id) {
    {
        prom::lock_guard lock(subs_mu_);
        auto it = find_watch(name, token);
        if (it != watches_.end() && !closed_) {
            it->second.feed_id = feed_id;
            return;
        }
    }
    if (feed_id) gw_.options.feed->unwatch(feed_id);  // unwatched, replaced or closed meanwhile
}

void session::unwatch(const std::string& id, const unwatch_cmd& cmd) {
    std::string name = watch_name(cmd.collection, cmd.key, cmd.prefix);
    std::uint64_t feed_id = 0;
    {
        prom::lock_guard lock(subs_mu_);
        auto it = watches_.find(name);
        if (it == watches_.end()) return reply(error_frame(id, "not_found", "no such watch"));
        feed_id = it->second.feed_id;
        watches_.erase(it);
    }
    if (feed_id) gw_.options.feed->unwatch(feed_id);
    reply(reply_frame(id, "unwatched", watch_fields(cmd.collection, cmd.key, cmd.prefix)));
}

// The token a browser gives in the upgrade's query (`?token=`), read as every other query
// parameter is (http/request.hpp), so GET /ws and the upgrade agree on what a query says.
std::optional<std::string> query_token(std::string_view target) {
    auto q = target.find('?');
    if (q == std::string_view::npos) return std::nullopt;
    return http::param_value(target.substr(q + 1), "token");
}

// A refused upgrade: the server's JSON error, always with an HTTP/1.1 status line, and the
// connection closed. A HEAD request gets the header lines only.
net::awaitable<void> refuse(beast::tcp_stream& stream, bool head, unsigned status,
                            std::string_view code, std::string_view message,
                            const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), 11};
    res.set(bhttp::field::server, "prom");
    res.set(bhttp::field::content_type, "application/json");
    res.set(bhttp::field::cache_control, "no-store");
    if (status == 401) res.set(bhttp::field::www_authenticate, "Bearer");
    for (const auto& [name, value] : headers) res.set(name, value);
    res.body() = canonical_json(json::object{{"error", code}, {"message", message}});
    res.keep_alive(false);
    res.prepare_payload();
    if (head) res.body().clear();  // Content-Length keeps the GET length
    co_await bhttp::async_write(stream, res, use_tuple);
    boost::system::error_code ec;
    stream.socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
}

std::optional<std::string_view> header(const bhttp::request<bhttp::string_body>& req,
                                       bhttp::field f) {
    auto it = req.find(f);
    if (it == req.end()) return std::nullopt;
    return it->value();
}

struct session_count {
    gateway::state* gw;
    explicit session_count(gateway::state* g) : gw(g) {
        prom::lock_guard lock(gw->sessions_mu);
        ++gw->sessions;
    }
    ~session_count() {
        {
            prom::lock_guard lock(gw->sessions_mu);
            --gw->sessions;
        }
        gw->sessions_cv.notify_all();
    }
};

net::awaitable<void> accept_session(std::shared_ptr<gateway::state> gw, beast::tcp_stream stream,
                                    beast::flat_buffer buffer,
                                    bhttp::request<bhttp::string_body> req,
                                    std::function<void(unsigned)> answered) {
    session_count counted(gw.get());
    const bool head = req.method() == bhttp::verb::head;
    // Checked here rather than left to Beast, whose refusals are plain text (and echo the
    // request's HTTP version): every refusal is our JSON error with an HTTP/1.1 status line.
    if (auto no = check_upgrade(
            {.method = req.method_string(),
             .version = req.version(),
             .host = header(req, bhttp::field::host),
             .connection = header(req, bhttp::field::connection),
             .upgrade = header(req, bhttp::field::upgrade),
             .key = header(req, bhttp::field::sec_websocket_key),
             .ws_version = header(req, bhttp::field::sec_websocket_version),
             .repeated_key = req.count(bhttp::field::sec_websocket_key) > 1,
             .repeated_version = req.count(bhttp::field::sec_websocket_version) > 1})) {
        co_await refuse(stream, head, no->status, no->code, no->message, no->headers);
        answered(no->status);
        co_return;
    }
    if (req.count(bhttp::field::authorization) > 1) {
        // As for every HTTP request (http_session.cpp): which line a proxy checked is unknown.
        co_await refuse(stream, head, 400, "bad_request",
                        "the Authorization header is given twice");
        answered(400);
        co_return;
    }
    if (!gw->policy.enabled()) {
        // Without tokens only this machine's own pages may talk to the gateway: browsers let
        // any page open a WebSocket to loopback, and a rebound name passes for loopback.
        auto host = header(req, bhttp::field::host);
        auto origin = header(req, bhttp::field::origin);
        // Two Origin lines: which one a browser sent is unknown (found from outside: only
        // the first was checked).
        if (!host || !auth::is_loopback_host(*host) || req.count(bhttp::field::origin) > 1 ||
            (origin && !auth::is_same_origin(*origin, *host))) {
            co_await refuse(stream, head, 403, "forbidden",
                            "a server without tokens takes WebSockets only from its own pages "
                            "on loopback (Host and Origin); configure auth for others");
            answered(403);
            co_return;
        }
    }
    const auth::grant* grant = nullptr;
    if (gw->policy.enabled()) {
        std::optional<std::string_view> header;
        if (auto it = req.find(bhttp::field::authorization); it != req.end()) header = it->value();
        std::string from_query;
        if (!header) {
            if (auto t = query_token(req.target())) {
                from_query = "Bearer " + *t;
                header = from_query;
            }
        }
        grant = gw->policy.authenticate(header);
        if (!grant) {
            gw->metrics.auth_refused += 1;
            co_await refuse(stream, head, 401, "unauthorized", "a valid bearer token is required");
            answered(401);
            co_return;
        }
    }
    stream.expires_never();  // the websocket stream has its own timeouts
    ws_stream ws(std::move(stream));
    ws.read_message_max(gw->options.max_message_bytes);
    ws.auto_fragment(false);
    auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
    ws.set_option(timeouts);
    ws.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(bhttp::field::server, "prom"); }));
    // check_upgrade() has refused whatever Beast would refuse; should Beast still find
    // something, it answers itself (400).
    auto [ec] = co_await ws.async_accept(req, use_tuple);
    if (ec) co_return;
    answered(101);
    ws.next_layer().start_frames();
    if (buffer.size() != 0) {  // frames sent before the 101 came with the request
        auto early = buffer.cdata();
        ws.next_layer().read_first(
            std::string(static_cast<const char*>(early.data()), early.size()));
        buffer.consume(buffer.size());
    }
    gw->metrics.sessions_open += 1;
    gw->metrics.sessions_total += 1;
    auto s = std::make_shared<session>(*gw, std::move(ws), grant);
    std::uint64_t id;
    {
        // Under the same lock as shutdown(): a session is either seen by it or sees
        // `stopping`, never neither (the handshake may finish while shutdown runs).
        prom::lock_guard lock(gw->sessions_mu);
        if (gw->stopping) {
            gw->metrics.sessions_open -= 1;
            s->shutdown();
            co_return;
        }
        id = gw->next_session++;
        gw->live[id] = s;
    }
    co_await s->run(std::move(buffer));
    {
        prom::lock_guard lock(gw->sessions_mu);
        gw->live.erase(id);
    }
    gw->metrics.sessions_open -= 1;
}

}  // namespace

gateway::gateway(store& s, const auth::auth_policy& policy, gateway_options options)
    : state_(std::make_shared<state>(s, policy, options)) {}

void gateway::shutdown() {
    std::vector<std::shared_ptr<session_base>> live;
    {
        prom::lock_guard lock(state_->sessions_mu);
        state_->stopping = true;
        for (auto& [id, weak] : state_->live) {
            if (auto s = weak.lock()) live.push_back(std::move(s));
        }
    }
    for (auto& s : live) s->shutdown();
}

gateway::~gateway() {
    shutdown();
    prom::unique_lock lock(state_->sessions_mu);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (state_->sessions != 0 &&
           state_->sessions_cv.wait_until(lock.native(), deadline) != std::cv_status::timeout) {
    }
    // Not bounded: the store answers every publish it took, and its callbacks must be done
    // with the sessions' executors before the server that owns them goes.
    while (state_->publishes_in_flight != 0) state_->sessions_cv.wait(lock.native());
    lock.unlock();
    state_->blocking.join();
    // Joins the delivery threads while the server's io_context is alive: a worker may hold
    // the last reference to a closed session, whose stream must die before that context.
    state_->delivery.close();
}

void gateway::install(http::server_context& server) {
    std::shared_ptr<state> st = state_;
    server.upgrade = [st](beast::tcp_stream stream, beast::flat_buffer buffer,
                          bhttp::request<bhttp::string_body> req,
                          std::function<void(unsigned)> answered) -> net::awaitable<void> {
        return accept_session(st, std::move(stream), std::move(buffer), std::move(req),
                              std::move(answered));
    };
}

const gateway_metrics& gateway::metrics() const { return state_->metrics; }

}  // namespace prom::ws
