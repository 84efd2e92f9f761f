#include "diagnose/sentinel_settings.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QSpinBox>

namespace lowbit::ui {

namespace {

QString key(const char* name) {
    return QStringLiteral("sentinel/") + QLatin1String(name);
}

// A rule's switch and its threshold on one form row.
QWidget* row(QCheckBox* toggle, QWidget* threshold) {
    auto* widget = new QWidget;
    auto* layout = new QHBoxLayout(widget);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(toggle);
    layout->addWidget(threshold);
    layout->addStretch(1);
    QObject::connect(toggle, &QCheckBox::toggled, threshold, &QWidget::setEnabled);
    threshold->setEnabled(toggle->isChecked());
    return widget;
}

QDoubleSpinBox* number(double lo, double hi, double value, int decimals, const QString& suffix) {
    auto* box = new QDoubleSpinBox;
    box->setRange(lo, hi);
    box->setDecimals(decimals);
    box->setValue(value);
    box->setSuffix(suffix);
    return box;
}

QCheckBox* toggle(const QString& label, bool on, const char* name) {
    auto* box = new QCheckBox(label);
    box->setChecked(on);
    box->setObjectName(QLatin1String(name));
    return box;
}

}  // namespace

SentinelRules load_sentinel_rules(const QSettings& settings) {
    const SentinelRules d;
    SentinelRules r;
    r.non_finite = settings.value(key("non_finite"), d.non_finite).toBool();
    r.loss_spike = settings.value(key("loss_spike"), d.loss_spike).toBool();
    r.spike_sigmas = settings.value(key("spike_sigmas"), d.spike_sigmas).toDouble();
    r.grad_norm_blowup = settings.value(key("grad_norm_blowup"), d.grad_norm_blowup).toBool();
    r.grad_norm_factor = settings.value(key("grad_norm_factor"), d.grad_norm_factor).toDouble();
    r.window = settings.value(key("window"), d.window).toInt();
    r.clip = settings.value(key("clip"), d.clip).toBool();
    r.clip_fraction = settings.value(key("clip_fraction"), d.clip_fraction).toDouble();
    r.underflow = settings.value(key("underflow"), d.underflow).toBool();
    r.underflow_fraction =
        settings.value(key("underflow_fraction"), d.underflow_fraction).toDouble();
    r.stop_run = settings.value(key("stop_run"), d.stop_run).toBool();
    // Hand-edited settings out of range fall back to the defaults rather than disarm a rule.
    if (!(r.spike_sigmas > 0)) {
        r.spike_sigmas = d.spike_sigmas;
    }
    if (!(r.grad_norm_factor > 1)) {
        r.grad_norm_factor = d.grad_norm_factor;
    }
    if (r.window < DivergenceSentinel::kMinWindowPoints) {
        r.window = d.window;
    }
    return r;
}

void save_sentinel_rules(QSettings& settings, const SentinelRules& r) {
    settings.setValue(key("non_finite"), r.non_finite);
    settings.setValue(key("loss_spike"), r.loss_spike);
    settings.setValue(key("spike_sigmas"), r.spike_sigmas);
    settings.setValue(key("grad_norm_blowup"), r.grad_norm_blowup);
    settings.setValue(key("grad_norm_factor"), r.grad_norm_factor);
    settings.setValue(key("window"), r.window);
    settings.setValue(key("clip"), r.clip);
    settings.setValue(key("clip_fraction"), r.clip_fraction);
    settings.setValue(key("underflow"), r.underflow);
    settings.setValue(key("underflow_fraction"), r.underflow_fraction);
    settings.setValue(key("stop_run"), r.stop_run);
}

SentinelSettingsDialog::SentinelSettingsDialog(const SentinelRules& r, QWidget* parent)
    : QDialog(parent) {
    setObjectName(QStringLiteral("sentinelSettings"));
    setWindowTitle(tr("Divergence Sentinel"));
    non_finite_ = toggle(tr("NaN or Inf in any scalar"), r.non_finite, "nonFinite");
    loss_spike_ = toggle(tr("train/loss above mean +"), r.loss_spike, "lossSpike");
    spike_sigmas_ = number(1, 100, r.spike_sigmas, 1, tr(" sd"));
    grad_norm_blowup_ = toggle(tr("grad_norm above"), r.grad_norm_blowup, "gradNormBlowup");
    grad_norm_factor_ = number(1.5, 1000, r.grad_norm_factor, 1, tr(" × median"));
    window_ = new QSpinBox;
    window_->setRange(DivergenceSentinel::kMinWindowPoints, 100000);
    window_->setValue(r.window);
    window_->setSuffix(tr(" points"));
    clip_ = toggle(tr("a quantizer clips more than"), r.clip, "clip");
    clip_percent_ = number(0, 100, 100 * r.clip_fraction, 2, tr(" %"));
    underflow_ = toggle(tr("a quantizer rounds to zero more than"), r.underflow, "underflow");
    underflow_percent_ = number(0, 100, 100 * r.underflow_fraction, 2, tr(" %"));
    stop_run_ = toggle(
        tr("Stop the run on its first alert (SIGTERM: it checkpoints)"), r.stop_run, "stopRun");

    auto* form = new QFormLayout(this);
    form->addRow(non_finite_);
    form->addRow(row(loss_spike_, spike_sigmas_));
    form->addRow(row(grad_norm_blowup_, grad_norm_factor_));
    form->addRow(tr("Trailing window"), window_);
    form->addRow(row(clip_, clip_percent_));
    form->addRow(row(underflow_, underflow_percent_));
    form->addRow(stop_run_);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    form->addRow(buttons);
}

SentinelRules SentinelSettingsDialog::rules() const {
    SentinelRules r;
    r.non_finite = non_finite_->isChecked();
    r.loss_spike = loss_spike_->isChecked();
    r.spike_sigmas = spike_sigmas_->value();
    r.grad_norm_blowup = grad_norm_blowup_->isChecked();
    r.grad_norm_factor = grad_norm_factor_->value();
    r.window = window_->value();
    r.clip = clip_->isChecked();
    r.clip_fraction = clip_percent_->value() / 100;
    r.underflow = underflow_->isChecked();
    r.underflow_fraction = underflow_percent_->value() / 100;
    r.stop_run = stop_run_->isChecked();
    return r;
}

}  // namespace lowbit::ui
