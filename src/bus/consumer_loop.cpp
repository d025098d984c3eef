#include "bus/consumer_loop.hpp"

#include <spdlog/spdlog.h>


namespace prom::bus_internal {

consumer_loop::consumer_loop(store& s, consumer_config config, deliver_fn deliver)
    : store_(s), state_(s, std::move(config)), deliver_(std::move(deliver)) {}

consumer_loop::~consumer_loop() {
    stop();
    // Destroyed from its own thread (the owner died inside a handler): nothing can join
    // it; it exits as soon as the handler returns. Owners avoid this (see ws_session.cpp).
    if (thread_.joinable()) thread_.detach();
}

void consumer_loop::start() { thread_ = std::thread([this] { run(); }); }

void consumer_loop::stop() {
    {
        std::lock_guard lock(sleep_mu_);
        stop_ = true;
    }
    sleep_cv_.notify_all();
    // From its own thread (a handler ending its consumer) the loop just exits after the
    // handler returns; a later stop() from another thread joins it.
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

bool consumer_loop::sleep_for(std::chrono::milliseconds d) {
    std::unique_lock lock(sleep_mu_);
    return !sleep_cv_.wait_for(lock, d, [&] { return stop_.load(); });
}

void consumer_loop::run() {
    while (!stop_) {
        auto step = state_.next();
        switch (step.what) {
        case consumer_step::kind::wait_change:
            store_.wait_for_change(step.version, step.wait);
            continue;
        case consumer_step::kind::back_off:
            sleep_for(step.wait);
            continue;
        case consumer_step::kind::deliver:
            break;
        }
        auto reached = deliver_(step.events);
        if (!state_.advance(reached, step.events.back().seq)) sleep_for(state_.config().retry_backoff);
    }
    state_.release();
}

}  // namespace prom::bus_internal
