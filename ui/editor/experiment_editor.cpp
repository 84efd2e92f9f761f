#include "editor/experiment_editor.h"

#include "lowbit/config/batch_wide_scales.h"
#include "lowbit/config/recipe_yaml.h"

#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QFontDatabase>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QSaveFile>
#include <QScrollArea>
#include <QSignalBlocker>
#include <QSplitter>
#include <QTimer>
#include <QVBoxLayout>

#include <algorithm>

#include "editor/recipe_form.h"

// The presets' resource lives in the static lowbit_ui; registering it must happen at global scope.
static void registerPresetResources() {
    Q_INIT_RESOURCE(lowbit_presets);
}

namespace lowbit::ui {

namespace {

const char* const kPresetRoot = ":/lowbit/presets";

QString megabytes(int64_t bytes) {
    return QStringLiteral("%1 MB").arg(static_cast<double>(bytes) / 1e6, 0, 'f', 2);
}

}  // namespace

ExperimentEditor::ExperimentEditor(QWidget* parent) : QWidget(parent) {
    preset_ = new QComboBox;
    preset_->setObjectName(QStringLiteral("presetPicker"));
    preset_->addItem(tr("built-in default"), QString());
    for (const QString& path : presets()) {
        preset_->addItem(path.mid(QString::fromLatin1(kPresetRoot).size() + 1), path);
    }
    launch_button_ = new QPushButton(tr("Launch"));
    launch_button_->setObjectName(QStringLiteral("editorLaunchButton"));
    mode_ = new QComboBox;
    mode_->setObjectName(QStringLiteral("editorMode"));
    mode_->addItem(tr("Pretraining (lowbit train)"), false);
    mode_->addItem(tr("EfficientQAT (lowbit qat)"), true);
    source_picker_ = new QComboBox;
    source_picker_->setObjectName(QStringLiteral("qatSourcePicker"));
    source_picker_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    source_picker_->setMinimumContentsLength(16);
    source_picker_->setPlaceholderText(tr("no trained model in the workspace"));
    source_label_ = new QLabel(tr("Source model"));
    auto* top = new QHBoxLayout;
    top->addWidget(mode_);
    top->addWidget(new QLabel(tr("Preset")));
    top->addWidget(preset_, 1);
    top->addWidget(source_label_);
    top->addWidget(source_picker_, 1);
    top->addStretch(1);
    top->addWidget(launch_button_);

    form_ = new RecipeForm;
    auto* scroll = new QScrollArea;
    scroll->setWidget(form_);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);

    footprint_label_ = new QLabel;
    footprint_label_->setObjectName(QStringLiteral("footprint"));
    footprint_label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    // The per-rank notes name override globs and can be long: wrap, never widen the side panel.
    footprint_label_->setWordWrap(true);
    auto* footprint_box = new QGroupBox(tr("Before launch"));
    (new QVBoxLayout(footprint_box))->addWidget(footprint_label_);
    message_label_ = new QLabel;
    message_label_->setObjectName(QStringLiteral("validationMessage"));
    message_label_->setWordWrap(true);
    message_label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    yaml_ = new QPlainTextEdit;
    yaml_->setObjectName(QStringLiteral("yamlView"));
    yaml_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    yaml_->setLineWrapMode(QPlainTextEdit::NoWrap);
    auto* side = new QWidget;
    auto* side_layout = new QVBoxLayout(side);
    side_layout->setContentsMargins(0, 0, 0, 0);
    side_layout->addWidget(footprint_box);
    side_layout->addWidget(message_label_);
    side_layout->addWidget(new QLabel(tr("YAML")));
    side_layout->addWidget(yaml_, 1);

    auto* splitter = new QSplitter(Qt::Horizontal);
    splitter->addWidget(scroll);
    splitter->addWidget(side);
    splitter->setStretchFactor(0, 2);
    splitter->setStretchFactor(1, 1);
    splitter->setSizes({900, 450});
    fork_label_ = new QLabel;
    fork_label_->setObjectName(QStringLiteral("forkOrigin"));
    fork_label_->setWordWrap(true);
    fork_label_->hide();
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(top);
    layout->addWidget(fork_label_);
    layout->addWidget(splitter, 1);

    // Edits are coalesced: one sync after the typing pauses.
    form_timer_ = new QTimer(this);
    form_timer_->setSingleShot(true);
    form_timer_->setInterval(150);
    yaml_timer_ = new QTimer(this);
    yaml_timer_->setSingleShot(true);
    yaml_timer_->setInterval(400);
    connect(form_timer_, &QTimer::timeout, this, &ExperimentEditor::syncFromForm);
    connect(yaml_timer_, &QTimer::timeout, this, &ExperimentEditor::syncFromYaml);
    connect(form_, &RecipeForm::edited, form_timer_, qOverload<>(&QTimer::start));
    connect(yaml_, &QPlainTextEdit::textChanged, this, [this] {
        if (!updating_yaml_) {
            yaml_timer_->start();
        }
    });
    connect(preset_, &QComboBox::currentIndexChanged, this, [this](int index) {
        const QString path = preset_->itemData(index).toString();
        setForkOrigin(std::nullopt);
        if (path.isEmpty()) {
            form_->setRecipe(config::Recipe{});
            syncFromForm();
        } else {
            loadRecipeFile(path);
        }
    });
    connect(launch_button_, &QPushButton::clicked, this, &ExperimentEditor::launch);
    connect(mode_, &QComboBox::currentIndexChanged, this, [this](int index) {
        setQatMode(mode_->itemData(index).toBool());
    });
    connect(source_picker_, &QComboBox::activated, this, [this](int index) {
        setQatSource(source_picker_->itemData(index).toLongLong());
    });
    form_->setRecipe(config::Recipe{});
    setQatMode(false);
    syncFromForm();
}

void ExperimentEditor::setQatMode(bool qat) {
    {
        const QSignalBlocker quiet(mode_);
        mode_->setCurrentIndex(qat ? 1 : 0);
    }
    form_->setQatMode(qat);
    source_label_->setVisible(qat);
    source_picker_->setVisible(qat);
    if (qat) {
        setForkOrigin(std::nullopt);  // a fork continues training; qat quantizes
    }
    showFootprint();
}

bool ExperimentEditor::qatMode() const {
    return form_->qatMode();
}

void ExperimentEditor::setSourceModels(std::vector<QatSourceModel> models) {
    sources_ = std::move(models);
    const QSignalBlocker quiet(source_picker_);
    source_picker_->clear();
    for (const QatSourceModel& model : sources_) {
        source_picker_->addItem(QStringLiteral("%1  #%2").arg(model.name).arg(model.run_id),
                                QVariant::fromValue<qlonglong>(model.run_id));
    }
    const QString chosen = recipe_ ? QString::fromStdString(recipe_->qat.source) : QString();
    int index = -1;
    for (int i = 0; i < source_picker_->count(); ++i) {
        if (QString::number(source_picker_->itemData(i).toLongLong()) == chosen ||
            sources_[static_cast<size_t>(i)].name == chosen) {
            index = i;
        }
    }
    source_picker_->setCurrentIndex(index);
    showFootprint();
}

bool ExperimentEditor::setQatSource(qint64 run_id) {
    const int index = source_picker_->findData(QVariant::fromValue<qlonglong>(run_id));
    if (index < 0) {
        return false;
    }
    {
        const QSignalBlocker quiet(source_picker_);
        source_picker_->setCurrentIndex(index);
    }
    form_->setValueText("qat.source", QString::number(run_id));
    syncFromForm();
    return true;
}

QStringList ExperimentEditor::presets() {
    registerPresetResources();
    QStringList paths;
    QDirIterator it(QString::fromLatin1(kPresetRoot),
                    {QStringLiteral("*.yaml")},
                    QDir::Files,
                    QDirIterator::Subdirectories);
    while (it.hasNext()) {
        paths << it.next();
    }
    std::sort(paths.begin(), paths.end());
    return paths;
}

void ExperimentEditor::loadRecipe(const config::Recipe& recipe, const QString& origin) {
    {
        const QSignalBlocker quiet(preset_);
        preset_->setPlaceholderText(origin);
        preset_->setCurrentIndex(-1);
    }
    form_->setRecipe(recipe);
    syncFromForm();
}

void ExperimentEditor::loadForkRecipe(const config::Recipe& recipe, const ForkOrigin& origin) {
    loadRecipe(recipe,
               tr("fork of run %1 (%2) at step %3")
                   .arg(origin.run_id)
                   .arg(origin.run_name)
                   .arg(origin.step));
    setForkOrigin(origin);
}

void ExperimentEditor::setForkOrigin(std::optional<ForkOrigin> origin) {
    fork_ = std::move(origin);
    fork_label_->setVisible(fork_.has_value());
    launch_button_->setText(fork_ ? tr("Launch Fork") : tr("Launch"));
    if (fork_) {
        // The engine refuses a fork whose model differs from the checkpoint's; say so up front.
        fork_label_->setText(
            tr("Fork of run %1 (%2) from its checkpoint at step %3: the new run starts from its "
               "weights, optimizer state and data position. Change bit-widths and training "
               "settings; the model section must stay as it is, and train.steps must exceed %3.")
                .arg(fork_->run_id)
                .arg(fork_->run_name)
                .arg(fork_->step));
    }
}

QStringList ExperimentEditor::launchOptions() const {
    if (!fork_) {
        return {};
    }
    return {QStringLiteral("--fork"), QStringLiteral("%1@%2").arg(fork_->run_id).arg(fork_->step)};
}

bool ExperimentEditor::loadRecipeFile(const QString& path) {
    registerPresetResources();
    setForkOrigin(std::nullopt);
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        message_ = tr("%1: cannot read the file").arg(path);
        message_label_->setText(message_);
        return false;
    }
    const QByteArray text = file.readAll();
    setQatMode(path.contains(QStringLiteral("/efficientqat/")));
    {
        const QSignalBlocker quiet(preset_);  // the picker names the preset, or none
        preset_->setCurrentIndex(std::max(0, preset_->findData(path)));
    }
    updating_yaml_ = true;
    yaml_->setPlainText(QString::fromUtf8(text));
    updating_yaml_ = false;
    syncFromYaml();
    return recipe_.has_value();
}

void ExperimentEditor::setSourcePath(const QString& path) {
    source_ = path;
    syncFromForm();
}

void ExperimentEditor::syncFromForm() {
    form_timer_->stop();
    const std::string yaml = form_->yaml();
    updating_yaml_ = true;
    yaml_->setPlainText(QString::fromStdString(yaml));
    updating_yaml_ = false;
    validate(yaml, false);
}

void ExperimentEditor::syncFromYaml() {
    yaml_timer_->stop();
    validate(yaml_->toPlainText().toStdString(), true);
}

void ExperimentEditor::validate(const std::string& yaml, bool from_yaml_view) {
    form_->clearErrors();
    try {
        // The parse and checks of `lowbit recipe check` (lowbit_config), errors naming the file.
        recipe_ = config::parse_recipe_yaml(yaml, source_.toStdString());
        message_.clear();
        message_label_->clear();
        if (from_yaml_view) {
            form_->setRecipe(*recipe_);
        }
    } catch (const config::RecipeError& error) {
        recipe_.reset();
        message_ = QString::fromStdString(error.what());
        form_->showError(error.key_path(), message_);
    } catch (const std::exception& error) {
        recipe_.reset();
        message_ = QString::fromStdString(error.what());
    }
    message_label_->setText(message_.isEmpty() ? QString()
                                               : QStringLiteral("<span style='color:#d03030'>"
                                                                "%1</span>")
                                                     .arg(message_.toHtmlEscaped()));
    launch_button_->setEnabled(recipe_.has_value());
    showFootprint();
}

void ExperimentEditor::showFootprint() {
    packed_.reset();
    if (!recipe_) {
        footprint_label_->setText(tr("(fix the recipe to see its footprint)"));
        return;
    }
    if (!qatMode()) {
        footprint_ = recipe_footprint(*recipe_);
        QString text = footprintText();
        // What a launch on several ranks (the Launch dock's Ranks) changes about the computation
        // (docs/distributed.md §Batches).
        for (const std::string& quantizer : config::batch_wide_scales(recipe_->quant)) {
            text += tr("\nOn several ranks: %1 scales span only each rank's rows")
                        .arg(QString::fromStdString(quantizer));
        }
        footprint_label_->setText(text);
        return;
    }
    const QString chosen = QString::fromStdString(recipe_->qat.source);
    const QatSourceModel* source = nullptr;
    for (const QatSourceModel& model : sources_) {
        if (QString::number(model.run_id) == chosen || model.name == chosen) {
            source = &model;
        }
    }
    const int bits = recipe_->qat.bits;
    const int group = recipe_->qat.group_size;
    // The grid's own cost, whatever the model: N-bit codes, an N-bit zero point and an fp16 step
    // per group of G weights.
    QString text = tr("w%1g%2: %3 + (%3 + 16) / %2 = %4 bits per weight before group indices")
                       .arg(bits)
                       .arg(group)
                       .arg(bits)
                       .arg(bits + (bits + 16.0) / group, 0, 'f', 3);
    if (source == nullptr) {
        text += tr("\nChoose the model to quantize (Source model).");
    } else {
        packed_ = packed_footprint(source->recipe, bits, group);
        if (!packed_->misfit.empty()) {
            text += tr("\n%1: group size %2 does not fit: %3")
                        .arg(source->name)
                        .arg(group)
                        .arg(QString::fromStdString(packed_->misfit));
        } else {
            text += tr("\n%1: %L2 block weights, packed %3 (fp32 %4): %5 bits per weight")
                        .arg(source->name)
                        .arg(packed_->weights)
                        .arg(megabytes(packed_->packed_bytes), megabytes(packed_->fp32_bytes))
                        .arg(packed_->bits_per_weight, 0, 'f', 3);
        }
    }
    footprint_label_->setText(text);
}

QString ExperimentEditor::footprintText() const {
    const RecipeFootprint& f = footprint_;
    return tr("Parameters: %L1 (vocabulary %L2)\n"
              "Weights: %3 fp32, %4 as quantized\n"
              "AdamW m + v: %5 fp32, %6 as stored\n"
              "Tokens per step: %L7")
        .arg(f.parameters)
        .arg(f.vocab)
        .arg(megabytes(f.weight_bytes_fp32),
             megabytes(f.weight_bytes_quantized),
             megabytes(f.optimizer_bytes_fp32),
             megabytes(f.optimizer_bytes_quantized))
        .arg(f.tokens_per_step);
}

bool ExperimentEditor::launch() {
    if (!recipe_ || launch_folder_.isEmpty()) {
        return false;
    }
    QDir().mkpath(launch_folder_);
    QString name = QString::fromStdString(recipe_->name);
    name.replace(QRegularExpression(QStringLiteral("[^A-Za-z0-9_.-]")), QStringLiteral("_"));
    const QString path = QDir(launch_folder_)
                             .filePath(QStringLiteral("%1-%2.yaml")
                                           .arg(name,
                                                QDateTime::currentDateTime().toString(
                                                    QStringLiteral("yyyyMMdd-HHmmss-zzz"))));
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
        return false;
    }
    file.write(form_->yaml().c_str());
    if (!file.commit()) {
        return false;
    }
    if (qatMode()) {
        Q_EMIT qatLaunchRequested(path);
        return true;
    }
    Q_EMIT launchRequested(path, launchOptions());
    return true;
}

}  // namespace lowbit::ui
