// Alerts: what the studio's divergence sentinel saw in a run (docs/workspace-schema.md, "Alerts"):
// a non-finite value, a loss spike, a gradient-norm blow-up, a quantizer clipping or underflowing
// too much. The studio is the only writer of these rows; the engine never writes them, so a run's
// own rows keep their one writer.
#pragma once

#include "lowbit/store/workspace.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lowbit::store {

struct AlertRecord {
    int64_t row_id = 0;  // grows: "alerts since row id" follows new ones
    int64_t run_id = 0;
    int64_t step = 0;
    std::string rule;                 // non_finite, loss_spike, grad_norm_blowup, clip, underflow
    std::string subject;              // the scalar key, or "layer kind" for a tensor's statistics
    std::optional<double> value;      // what was seen; empty when not finite
    std::optional<double> threshold;  // the limit it crossed; empty for non_finite
    std::string message;
    double created_at = 0;  // unix seconds
};

// Appends one alert (row_id is ignored) in its own short transaction and returns its row id.
// The workspace must be open read-write; an unknown run id throws StoreError(bad_input=true).
int64_t add_run_alert(Workspace& workspace, const AlertRecord& alert);

// The alerts of `run_id` with row id above `since_row_id`, in row order.
std::vector<AlertRecord> run_alerts(const Workspace& workspace,
                                    int64_t run_id,
                                    int64_t since_row_id = 0);

}  // namespace lowbit::store
