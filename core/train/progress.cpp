// Progress sinks (see progress.h). The bar and log lines go to stderr so stdout stays clean for
// whatever the user pipes; JSON lines go to stdout, flushed per line, for the GUI's QProcess.
#include "lowbit/train/progress.h"

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

std::string describe_event(const std::string& kind, int64_t step, const nlohmann::json& fields) {
    std::string text = "[" + kind + "] step " + std::to_string(step);
    for (const auto& [key, value] : fields.items()) {
        text += " " + key + "=" + (value.is_string() ? value.get<std::string>() : value.dump());
    }
    return text;
}

// Events that only tell a machine reader that new rows are in the store (every telemetry
// step): kept out of the lines a person reads.
bool is_quiet_for_people(const std::string& kind) {
    return kind == "telemetry";
}

class JsonLinesSink : public ProgressSink {
public:
    void on_step(const StepProgress& p) override {
        nlohmann::json line = {{"type", "step"},
                               {"step", p.step},
                               {"steps", p.steps},
                               {"loss", p.loss},
                               {"lr", p.lr},
                               {"grad_norm", p.grad_norm},
                               {"tokens", p.tokens},
                               {"tokens_per_s", p.tokens_per_s},
                               {"eta_s", p.eta_s}};
        std::printf("%s\n", line.dump().c_str());
        std::fflush(stdout);
    }

    void on_event(const std::string& kind, int64_t step, const nlohmann::json& fields) override {
        nlohmann::json line = {{"type", "event"}, {"kind", kind}, {"step", step}};
        for (const auto& [key, value] : fields.items()) {
            line[key] = value;
        }
        std::printf("%s\n", line.dump().c_str());
        std::fflush(stdout);
    }
};

class BarSink : public ProgressSink {
public:
    void on_step(const StepProgress& p) override {
        const auto now = std::chrono::steady_clock::now();
        if (p.step != p.steps && now - last_draw_ < std::chrono::milliseconds(100)) {
            return;
        }
        last_draw_ = now;
        constexpr int kWidth = 28;
        const int filled = p.steps > 0 ? static_cast<int>(kWidth * p.step / p.steps) : 0;
        std::string bar(static_cast<size_t>(filled), '#');
        bar.resize(kWidth, '.');
        std::fprintf(stderr,
                     "\r[%s] %lld/%lld loss %.4f lr %.2e %.1fk tok/s ETA %s   ",
                     bar.c_str(),
                     static_cast<long long>(p.step),
                     static_cast<long long>(p.steps),
                     p.loss,
                     p.lr,
                     p.tokens_per_s / 1000.0,
                     format_duration(p.eta_s).c_str());
        if (p.step == p.steps) {
            std::fprintf(stderr, "\n");
        }
        std::fflush(stderr);
    }

    void on_event(const std::string& kind, int64_t step, const nlohmann::json& fields) override {
        if (is_quiet_for_people(kind)) {
            return;
        }
        std::fprintf(stderr, "\r\033[K%s\n", describe_event(kind, step, fields).c_str());
        std::fflush(stderr);
    }

private:
    std::chrono::steady_clock::time_point last_draw_{};
};

// Not a terminal: a line at most every ~5% of the run and for every event.
class LogLineSink : public ProgressSink {
public:
    void on_step(const StepProgress& p) override {
        const int64_t every = p.steps >= 20 ? p.steps / 20 : 1;
        if (p.step % every != 0 && p.step != p.steps) {
            return;
        }
        std::fprintf(stderr,
                     "step %lld/%lld loss %.4f lr %.2e %.1fk tok/s ETA %s\n",
                     static_cast<long long>(p.step),
                     static_cast<long long>(p.steps),
                     p.loss,
                     p.lr,
                     p.tokens_per_s / 1000.0,
                     format_duration(p.eta_s).c_str());
    }

    void on_event(const std::string& kind, int64_t step, const nlohmann::json& fields) override {
        if (is_quiet_for_people(kind)) {
            return;
        }
        std::fprintf(stderr, "%s\n", describe_event(kind, step, fields).c_str());
    }
};

class NullSink : public ProgressSink {
public:
    void on_step(const StepProgress&) override {}

    void on_event(const std::string&, int64_t, const nlohmann::json&) override {}
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

std::unique_ptr<ProgressSink> make_progress_sink(ProgressMode mode) {
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
