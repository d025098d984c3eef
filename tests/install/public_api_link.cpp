// Links every function that the public headers (include/prom/) declare, against the
// installed package alone (scripts/install-test.sh builds it with the installed headers and
// `pkg-config --libs prom`): a declaration whose definition stayed in a target that is not
// installed (as the harness once was) fails this link. Run, it only prints how many it took.
//
// Add a line here for every function a public header gains.

#include <cstdio>
#include <ostream>

#include "prom/bus.hpp"
#include "prom/error.hpp"
#include "prom/event.hpp"
#include "prom/harness.hpp"
#include "prom/json.hpp"
#include "prom/process_projectors.hpp"
#include "prom/projector.hpp"
#include "prom/seq_and_time.hpp"
#include "prom/store.hpp"
#include "prom/timetravel.hpp"
#include "prom/user_projector.hpp"

namespace {

// Keeps each address alive through the optimiser, so the linker must resolve it.
template <class F>
void keep(F f, int& n) {
    static F volatile sink;  // a volatile store of the address itself: it must be resolved
    sink = f;
    ++n;
}

}  // namespace

int main() {
    using namespace prom;
    int n = 0;
    keep(static_cast<std::string_view (*)(errc) noexcept>(&to_string), n);
    keep(&to_json_text, n);
    keep(static_cast<json::object (*)(const event&)>(&to_json), n);
    keep(static_cast<json::object (*)(const append_result&)>(&to_json), n);
    keep(static_cast<result<event_input> (*)(const json::value&)>(&event_input_from_json), n);
    keep(static_cast<result<event_input> (*)(json::value &&)>(&event_input_from_json), n);
    keep(&validate_input, n);
    keep(&new_event_id, n);
    keep(&now_ms, n);
    keep(&parse_time, n);
    keep(&parse_json, n);
    keep(&parse_stored_json, n);
    keep(static_cast<std::string (*)(const json::value&)>(&canonical_json), n);
    keep(static_cast<std::string (*)(const json::object&)>(&canonical_json), n);
    keep(static_cast<void (*)(std::string&, const json::value&)>(&append_canonical_json), n);
    keep(static_cast<void (*)(std::string&, const json::object&)>(&append_canonical_json), n);
    keep(&etag_of, n);
    keep(static_cast<std::ostream& (*)(std::ostream&, seq_t)>(&operator<<), n);
    keep(static_cast<std::ostream& (*)(std::ostream&, ts_ms)>(&operator<<), n);
    keep(&store::append_async, n);
    keep(&open_store, n);
    keep(&describe_db_url, n);
    keep(&bus::publish, n);
    keep(&bus::publish_batch, n);
    keep(&bus::subscribe, n);
    keep(&bus::ack, n);
    keep(&bus::cursor, n);
    keep(&start_transactional_projector, n);
    keep(&start_process_projectors, n);
    keep(&merge_patch, n);
    keep(&replace_reducer, n);
    keep(&merge_reducer, n);
    keep(&builtin_reducer, n);
    keep(static_cast<json::object (*)(const state_at&)>(&to_json), n);
    keep(static_cast<json::object (*)(const keyed_state&)>(&to_json), n);
    keep(&time_machine::at, n);
    keep(&time_machine::at_all, n);
    keep(&time_machine::build_snapshots, n);
    keep(&at_as_json, n);
    keep(&parse_projector_definition, n);
    keep(&topic_matches, n);
    keep(&make_user_handler, n);
    keep(&harness::start, n);
    std::printf("public_api_link: %d functions of include/prom/ linked\n", n);
    return 0;
}
