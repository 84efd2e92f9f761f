// describe(): the human-readable line of a run event, shared by the log-line sinks and the
// text of the events the workspace stores.
#include "lowbit/events/run_event.h"

#include <cstdio>
#include <string>

namespace lowbit::events {

namespace {

std::string format(const char* pattern, double value) {
    char text[64];
    std::snprintf(text, sizeof text, pattern, value);
    return text;
}

struct Describer {
    std::string operator()(const Started& e) const {
        std::string text = "device " + e.device + ", " + std::to_string(e.parameters) +
                           " parameters, " + std::to_string(e.steps) + " steps";
        if (e.parent_run_id != 0) {
            return text + ", forked from run " + std::to_string(e.parent_run_id) + " at " +
                   e.fork_checkpoint;
        }
        return e.init_from.empty() ? text : text + ", weights from " + e.init_from;
    }

    std::string operator()(const Resumed& e) const {
        return "from " + e.checkpoint + " on device " + e.device + ", to step " +
               std::to_string(e.steps);
    }

    std::string operator()(const Step& e) const {
        return "loss " + format("%.4f", e.loss) + " lr " + format("%.2e", e.lr);
    }

    std::string operator()(const Eval& e) const {
        return "val/loss " + format("%.4f", e.val_loss);
    }

    std::string operator()(const Checkpoint& e) const {
        return e.path + " (" + std::to_string(e.bytes) + " bytes)";
    }

    std::string operator()(const Telemetry& e) const {
        return std::to_string(e.tensors) + " tensors";
    }

    std::string operator()(const Phase& e) const {
        std::string text = e.name + ", " + std::to_string(e.blocks) + " blocks";
        return e.steps > 0 ? text + ", " + std::to_string(e.steps) + " steps" : text;
    }

    std::string operator()(const BlockEpoch& e) const {
        return "block " + std::to_string(e.block + 1) + "/" + std::to_string(e.blocks) + " epoch " +
               std::to_string(e.epoch) + "/" + std::to_string(e.epochs) + ": train " +
               format("%.3e", e.train_loss) + " val " + format("%.3e", e.val_loss);
    }

    std::string operator()(const BlockDone& e) const {
        return "block " + std::to_string(e.block + 1) + "/" + std::to_string(e.blocks) +
               " packed in " + format("%.1f s", e.seconds) + ": " + e.path;
    }

    std::string operator()(const Perplexity& e) const {
        return e.corpus + ": ppl " + format("%.3f", e.ppl) + " (" + std::to_string(e.tokens) +
               " tokens, " + e.path + ")";
    }

    std::string operator()(const Completed&) const {
        return {};
    }

    std::string operator()(const Stopped& e) const {
        return "stopped by signal " + std::to_string(e.signal);
    }

    std::string operator()(const Diverged& e) const {
        return e.what + " is not finite";
    }

    std::string operator()(const Failed& e) const {
        return e.error;
    }
};

}  // namespace

std::string describe(const RunEvent& event) {
    return std::visit(Describer{}, event.body);
}

}  // namespace lowbit::events
