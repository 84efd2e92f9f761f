// ExperimentEditor: the recipe editor dock: a preset picker (resources/presets, compiled in), the
// schema-generated RecipeForm with its bit-width matrix, a YAML view kept in sync both ways, the
// validation message of lowbit_config (the same parse as `lowbit recipe check`, so the same text,
// shown at the field it names), the recipe's footprint (parameters, weight and optimizer-state
// memory in fp32 and in the chosen formats, tokens per step) and a Launch button that writes the
// recipe to a file and hands it to the run launcher. Opened from a run's checkpoint, it edits the
// recipe of a fork of that run, and Launch starts the fork (docs/studio.md §Forking a run).
// In EfficientQAT mode (docs/studio.md §EfficientQAT) the form shows the qat sections, a source
// picker lists the workspace's trained models, the footprint is the packed model's (bits per
// weight and size at the chosen bits and group size) and Launch starts `lowbit qat`.
#pragma once

#include "lowbit/config/recipe.h"

#include <QString>
#include <QStringList>
#include <QWidget>

#include <optional>
#include <vector>

#include "models/recipe_footprint.h"

class QComboBox;
class QLabel;
class QPlainTextEdit;
class QPushButton;
class QTimer;

namespace lowbit::ui {

class RecipeForm;

// A model `lowbit qat` can quantize: a trained (or imported) run of the workspace and its recipe.
struct QatSourceModel {
    qint64 run_id = 0;
    QString name;
    config::Recipe recipe;
};

// The checkpoint a fork starts from: run `run_id` after `step` optimizer steps.
struct ForkOrigin {
    qint64 run_id = 0;
    qint64 step = 0;
    QString run_name;
};

class ExperimentEditor : public QWidget {
    Q_OBJECT

public:
    explicit ExperimentEditor(QWidget* parent = nullptr);

    RecipeForm* form() const {
        return form_;
    }

    QPlainTextEdit* yamlView() const {
        return yaml_;
    }

    // EfficientQAT mode: the qat sections, the source picker and `lowbit qat` on Launch. Loading
    // a preset of presets/efficientqat/ turns it on, any other preset off.
    void setQatMode(bool qat);

    bool qatMode() const;

    // The models the source picker offers, newest first; the recipe's qat.source is kept.
    void setSourceModels(std::vector<QatSourceModel> models);
    // Picks a source model (sets qat.source to its run id); false when it is not offered.
    bool setQatSource(qint64 run_id);

    QComboBox* sourcePicker() const {
        return source_picker_;
    }

    // The packed model of the chosen source at the recipe's bits and group size; none while no
    // offered source is chosen.
    const std::optional<PackedFootprint>& packedFootprint() const {
        return packed_;
    }

    // The compiled-in presets as resource paths (":/lowbit/presets/gpt2/w8a8g8.yaml", ...).
    static QStringList presets();
    // Loads a preset (or any recipe file); false and a message when it does not validate.
    bool loadRecipeFile(const QString& path);
    // Shows a recipe that is no preset (e.g. a run's); the picker names where it came from.
    void loadRecipe(const config::Recipe& recipe, const QString& origin);

    // Edits the recipe of a fork of `origin` (the run's recipe, with its name); loading a preset or
    // a file ends the fork. Launch then starts the fork.
    void loadForkRecipe(const config::Recipe& recipe, const ForkOrigin& origin);

    const std::optional<ForkOrigin>& forkOrigin() const {
        return fork_;
    }

    // The `lowbit train` options a launch adds to the recipe file: `--fork RUN@STEP` for a fork.
    QStringList launchOptions() const;

    // The file the recipe is checked as and launched from; messages name it, as the CLI's do.
    void setSourcePath(const QString& path);

    const QString& sourcePath() const {
        return source_;
    }

    // Folder the Launch button writes recipes to (<workspace>/studio-recipes).
    void setLaunchFolder(const QString& folder) {
        launch_folder_ = folder;
    }

    // Form -> YAML view and validation; YAML view -> form when the text validates.
    void syncFromForm();
    void syncFromYaml();

    // The last validation: the recipe, or the message (lowbit_config's, as the CLI prints it
    // after "lowbit: error: ").
    const std::optional<config::Recipe>& recipe() const {
        return recipe_;
    }

    const QString& message() const {
        return message_;
    }

    const RecipeFootprint& footprint() const {
        return footprint_;
    }

    QString footprintText() const;

    // Writes the recipe to the launch folder and emits launchRequested; false when invalid.
    bool launch();

Q_SIGNALS:
    void launchRequested(const QString& recipe_path, const QStringList& options);
    // Launch in EfficientQAT mode: `lowbit qat RECIPE`.
    void qatLaunchRequested(const QString& recipe_path);

private:
    void validate(const std::string& yaml, bool from_yaml_view);
    void showFootprint();
    void setForkOrigin(std::optional<ForkOrigin> origin);

    RecipeForm* form_;
    QComboBox* preset_;
    QComboBox* mode_;
    QComboBox* source_picker_;
    QLabel* source_label_;
    std::vector<QatSourceModel> sources_;
    std::optional<PackedFootprint> packed_;
    QPlainTextEdit* yaml_;
    QLabel* message_label_;
    QLabel* footprint_label_;
    QLabel* fork_label_;
    QPushButton* launch_button_;
    QTimer* form_timer_;
    QTimer* yaml_timer_;
    QString source_ = QStringLiteral("recipe.yaml");
    QString launch_folder_;
    std::optional<config::Recipe> recipe_;
    QString message_;
    RecipeFootprint footprint_;
    std::optional<ForkOrigin> fork_;
    bool updating_yaml_ = false;
};

}  // namespace lowbit::ui
