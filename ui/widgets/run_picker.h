// The run pickers of the views that show one run at a time (health, histograms, QAT phases): a
// combo box of (run id, label) items kept in step with the workspace's runs without disturbing
// the choice, and without emitting a change for the refill itself.
#pragma once

#include <QComboBox>
#include <QString>

#include <cstdint>
#include <utility>
#include <vector>

namespace lowbit::ui {

// Refills `box` with `items` (newest first) when they differ from its current items, with its
// signals blocked, and keeps `current` chosen (none when it is not listed). Returns whether the
// items changed.
bool sync_run_items(QComboBox& box,
                    const std::vector<std::pair<int64_t, QString>>& items,
                    int64_t current);

}  // namespace lowbit::ui
