// RecipeForm: a form over every recipe key, built from the recipe schema table (a new key in
// the table appears here without code): one group per section, a check box for booleans, a combo
// box for enums and for integers with a fixed set of values (bit-widths), a line edit otherwise.
// The quant.<tensor> sections form the bit-width matrix: a row per tensor type (weight,
// activation, grad_output, optim_m, optim_v), a column per quantizer key (bits, granularity,
// group_size, symmetric, rounding, min_range, grid); the other quant keys (scope, backward,
// optim_v mapping, per-layer overrides in flow YAML) sit below it.
#pragma once

#include <QWidget>

#include <map>
#include <string>

#include "editor/recipe_form_text.h"

class QGridLayout;
class QLabel;

namespace lowbit::ui {

class RecipeForm : public QWidget {
    Q_OBJECT

public:
    explicit RecipeForm(QWidget* parent = nullptr);

    void setRecipe(const config::Recipe& recipe);  // no edited() signal
    FormValues values() const;

    std::string yaml() const {
        return form_yaml(values());
    }

    // Sets one key's text as a user would (enums and bit-widths: one of their choices); false
    // when the key or the choice does not exist.
    bool setValueText(const std::string& path, const QString& text);
    QWidget* editorOf(const std::string& path) const;

    // EfficientQAT mode shows the run section and the qat sections only; pretraining mode shows
    // every section but those.
    void setQatMode(bool qat);

    bool qatMode() const {
        return qat_mode_;
    }

    // The group box of a section ("" is the run's top-level keys); null when there is none.
    QWidget* sectionBox(const std::string& section) const {
        const auto it = sections_.find(section);
        return it == sections_.end() ? nullptr : it->second;
    }

    // Shows `message` at the field of `key_path` (or the closest enclosing key); false when no
    // field matches. clearErrors() hides every message.
    bool showError(const std::string& key_path, const QString& message);
    void clearErrors();
    // The message shown at the field of `path`; empty when none.
    QString errorAt(const std::string& path) const;

Q_SIGNALS:
    void edited();

private:
    struct Field {
        const config::FieldSpec* spec = nullptr;
        QWidget* editor = nullptr;
        QLabel* error = nullptr;  // under the field, or the matrix's shared line
        QString shown_error;
    };

    QWidget* makeEditor(const config::FieldSpec& spec);
    QString text(const Field& field) const;
    bool setText(Field& field, const QString& text);
    QWidget* buildMatrix();

    std::map<std::string, Field> fields_;
    std::map<std::string, QWidget*> sections_;
    QWidget* matrix_ = nullptr;
    bool qat_mode_ = false;
    QLabel* matrix_error_ = nullptr;
    bool loading_ = false;
};

}  // namespace lowbit::ui
