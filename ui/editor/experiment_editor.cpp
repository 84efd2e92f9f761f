#include "editor/experiment_editor.h"

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
    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Preset")));
    top->addWidget(preset_, 1);
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
    form_->setRecipe(config::Recipe{});
    syncFromForm();
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
    if (!recipe_) {
        footprint_label_->setText(tr("(fix the recipe to see its footprint)"));
        return;
    }
    footprint_ = recipe_footprint(*recipe_);
    footprint_label_->setText(footprintText());
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
    Q_EMIT launchRequested(path, launchOptions());
    return true;
}

}  // namespace lowbit::ui
