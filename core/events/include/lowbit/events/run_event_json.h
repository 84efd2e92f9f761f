// JSON lines of run events (docs/progress-events.md): one object per event, written by the
// engine's `--progress jsonl` and read back by the studio with the same code, so neither side
// hand-parses the other's text.
#pragma once

#include "lowbit/events/run_event.h"

#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace lowbit::events {

// A line that is not a run event of a version this build reads: the message names the field.
class EventFormatError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

nlohmann::json to_json(const RunEvent& event);
std::string to_json_line(const RunEvent& event);  // compact, no newline

// Throws EventFormatError for a missing or mistyped field, an unknown event name, or a format
// version newer than kFormatVersion. Unknown extra fields are ignored (forward compatible).
RunEvent from_json(const nlohmann::json& object);
RunEvent from_json_line(const std::string& line);

}  // namespace lowbit::events
