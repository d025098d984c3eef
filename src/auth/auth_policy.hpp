// Bearer-token authentication and per-topic permissions for the HTTP publisher, the
// WebSocket gateway and the snapshot API.
//
// Config (the "auth" member of the serve config file):
//   {"tokens": [{"token": "collector-secret-1", "name": "collector",
//                "publish": ["heartbeat.*"], "subscribe": ["process.*"], "read": ["*"],
//                "groups": ["dash-*"]}]}
// A pattern is a topic (or collection, or group) name, a prefix ending in `*`, or `*` alone.
// `groups` names the consumer groups the token may subscribe and ack as (the gateway checks
// both the topic, against `subscribe`, and the group); without `groups`, every group. Every
// object accepts only these keys: an unknown one (a typo) is an error naming its path, never
// a silently weaker policy (docs/config.md).
// "admin": [patterns] grants the /projectors routes for the projector names it matches.
// With no tokens configured the policy is disabled: everything is allowed, and the server
// refuses to listen beyond loopback unless told --insecure-listen-any.
//
// An auth_policy is immutable after construction and safe to share between threads.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "prom/json.hpp"

namespace prom::auth {

// `group`: subscribe or ack as the consumer group of that name; `admin`: manage the
// projectors of that name (the /projectors routes).
enum class action { publish, subscribe, read, group, admin };

enum class verdict {
    allowed,
    unauthenticated,  // no token, or an unknown one: 401
    forbidden,        // a known token without this permission: 403
};

struct grant {
    std::string token;
    std::string name;  // for logs; never the token itself
    std::vector<std::string> publish;
    std::vector<std::string> subscribe;
    std::vector<std::string> read;
    std::vector<std::string> groups;  // ["*"] when the config gives none
    std::vector<std::string> admin;   // projector names: /projectors routes
};

// Shorter tokens are refused at start-up: they are guessable.
constexpr std::size_t min_token_length = 8;

class auth_policy {
  public:
    auth_policy() = default;  // disabled
    static result<auth_policy> from_json(const json::value& config);

    bool enabled() const { return !grants_.empty(); }
    std::size_t token_count() const { return grants_.size(); }

    // `authorization` is the raw Authorization header value (or a token given another way,
    // prefixed "Bearer "). Unknown tokens are unauthenticated; comparison is constant-time.
    verdict check(std::optional<std::string_view> authorization, action what,
                  std::string_view topic_or_collection) const;

    // The grant of a valid token, for sessions that authenticate once and check per topic.
    const grant* authenticate(std::optional<std::string_view> authorization) const;
    static bool permits(const grant& g, action what, std::string_view name);
    // Every name `pattern` (a name, a prefix ending in '*', or '*') can match is permitted.
    static bool permits_every(const grant& g, action what, std::string_view pattern);
    // Some name `pattern` can match may be permitted: one of the grant's patterns lies within
    // it, or it within one of them (`*` and `order.*` either way).
    static bool permits_some(const grant& g, action what, std::string_view pattern);

  private:
    std::vector<grant> grants_;
};

// Extracts the token from "Bearer <token>" (scheme case-insensitive); nullopt otherwise.
std::optional<std::string_view> bearer_token(std::string_view authorization);

bool pattern_matches(std::string_view pattern, std::string_view name);

// A name, a prefix ending in '*', or '*': a '*' anywhere else would match nothing.
inline bool well_formed_pattern(std::string_view pattern) {
    const auto star = pattern.find('*');
    return star == std::string_view::npos || star == pattern.size() - 1;
}

}  // namespace prom::auth
