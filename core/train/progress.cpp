// Progress sinks (see progress.h). The bar and log lines go to stderr so stdout stays clean for
// whatever the user pipes; JSON lines go to stdout, flushed per line, for the studio's QProcess.
#include "lowbit/train/progress.h"

#include "lowbit/events/run_event_json.h"

#include <chrono>
#include <cstdio>
#include <stdexcept>

#include <unistd.h>

namespace lowbit::train {
namespace {

std::string format_duration(double seconds) {
    if (seconds < 0 || seconds > 1e7) {
        return "?";
    }
    const auto total = static_cast<long long>(seconds + 0.5);
    char buffer[32];
    if (total >= 3600) {
        std::snprintf(buffer, sizeof(buffer), "%lldh%02lldm", total / 3600, (total / 60) % 60);
    } else {
        std::snprintf(buffer, sizeof(buffer), "%lldm%02llds", total / 60, total % 60);
    }
    return buffer;
}

std::string step_line(const events::RunEvent& event, const events::Step& s) {
    char text[160];
    std::snprintf(text,
                  sizeof text,
                  "%lld/%lld loss %.4f lr %.2e %.1fk tok/s ETA %s",
                  static_cast<long long>(event.step),
                  static_cast<long long>(s.steps),
                  s.loss,
                  s.lr,
                  s.tokens_per_s / 1000.0,
                  format_duration(s.eta_s).c_str());
    return text;
}

// "[checkpoint] step 10 runs/1/checkpoints/step-0000010 (123 bytes)"
std::string event_line(const events::RunEvent& event) {
    std::string text =
        std::string("[") + events::event_name(event.body) + "] step " + std::to_string(event.step);
    const std::string what = events::describe(event);
    return what.empty() ? text : text + " " + what;
}

// Telemetry events only tell a machine reader that new rows are in the store: kept out of the
// lines a person reads.
bool is_for_people(const events::RunEvent& event) {
    return !std::holds_alternative<events::Telemetry>(event.body);
}

class JsonLinesSink : public events::RunEventSink {
public:
    void on_event(const events::RunEvent& event) override {
        std::printf("%s\n", events::to_json_line(event).c_str());
        std::fflush(stdout);
    }
};

class BarSink : public events::RunEventSink {
public:
    void on_event(const events::RunEvent& event) override {
        if (const auto* step = std::get_if<events::Step>(&event.body)) {
            draw(event, *step);
        } else if (is_for_people(event)) {
            std::fprintf(stderr, "\r\033[K%s\n", event_line(event).c_str());
            std::fflush(stderr);
        }
    }

private:
    void draw(const events::RunEvent& event, const events::Step& s) {
        const auto now = std::chrono::steady_clock::now();
        const bool last = event.step == s.steps;
        if (!last && now - last_draw_ < std::chrono::milliseconds(100)) {
            return;
        }
        last_draw_ = now;
        constexpr int kWidth = 28;
        const int filled = s.steps > 0 ? static_cast<int>(kWidth * event.step / s.steps) : 0;
        std::string bar(static_cast<size_t>(filled), '#');
        bar.resize(kWidth, '.');
        std::fprintf(stderr, "\r[%s] %s   ", bar.c_str(), step_line(event, s).c_str());
        if (last) {
            std::fprintf(stderr, "\n");
        }
        std::fflush(stderr);
    }

    std::chrono::steady_clock::time_point last_draw_{};
};

// Not a terminal: a line at most every ~5% of the run and for every event.
class LogLineSink : public events::RunEventSink {
public:
    void on_event(const events::RunEvent& event) override {
        if (const auto* s = std::get_if<events::Step>(&event.body)) {
            const int64_t every = s->steps >= 20 ? s->steps / 20 : 1;
            if (event.step % every == 0 || event.step == s->steps) {
                std::fprintf(stderr, "step %s\n", step_line(event, *s).c_str());
            }
        } else if (is_for_people(event)) {
            std::fprintf(stderr, "%s\n", event_line(event).c_str());
        }
    }
};

class NullSink : public events::RunEventSink {
public:
    void on_event(const events::RunEvent&) override {}
};

}  // namespace

ProgressMode progress_mode_from_string(const std::string& text) {
    if (text == "auto")
        return ProgressMode::kAuto;
    if (text == "bar")
        return ProgressMode::kBar;
    if (text == "jsonl")
        return ProgressMode::kJsonl;
    if (text == "none")
        return ProgressMode::kNone;
    throw std::invalid_argument("unknown progress mode '" + text +
                                "' (expected auto, bar, jsonl or none)");
}

std::unique_ptr<events::RunEventSink> make_progress_sink(ProgressMode mode) {
    switch (mode) {
        case ProgressMode::kBar:
            return std::make_unique<BarSink>();
        case ProgressMode::kJsonl:
            return std::make_unique<JsonLinesSink>();
        case ProgressMode::kNone:
            return std::make_unique<NullSink>();
        case ProgressMode::kAuto:
            break;
    }
    if (::isatty(STDERR_FILENO)) {
        return std::make_unique<BarSink>();
    }
    return std::make_unique<LogLineSink>();
}

}  // namespace lowbit::train
