// The divergence sentinel's rules as settings (docs/studio.md §Divergence sentinel): kept in the
// studio's QSettings under "sentinel/", edited in a dialog from the Edit menu.
#pragma once

#include <QDialog>
#include <QSettings>

#include "diagnose/divergence_sentinel.h"

class QCheckBox;
class QDoubleSpinBox;
class QSpinBox;

namespace lowbit::ui {

SentinelRules load_sentinel_rules(const QSettings& settings);
void save_sentinel_rules(QSettings& settings, const SentinelRules& rules);

class SentinelSettingsDialog : public QDialog {
    Q_OBJECT

public:
    explicit SentinelSettingsDialog(const SentinelRules& rules, QWidget* parent = nullptr);

    SentinelRules rules() const;

private:
    QCheckBox* non_finite_;
    QCheckBox* loss_spike_;
    QDoubleSpinBox* spike_sigmas_;
    QCheckBox* grad_norm_blowup_;
    QDoubleSpinBox* grad_norm_factor_;
    QSpinBox* window_;
    QCheckBox* clip_;
    QDoubleSpinBox* clip_percent_;
    QCheckBox* underflow_;
    QDoubleSpinBox* underflow_percent_;
    QCheckBox* stop_run_;
};

}  // namespace lowbit::ui
