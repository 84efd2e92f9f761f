#include "editor/recipe_form.h"

#include "lowbit/kernels/quant_format.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QVBoxLayout>

#include <algorithm>
#include <vector>

namespace lowbit::ui {

namespace {

std::string section_of(const std::string& path) {
    const auto dot = path.rfind('.');
    return dot == std::string::npos ? std::string() : path.substr(0, dot);
}

std::string key_of(const std::string& path) {
    const auto dot = path.rfind('.');
    return dot == std::string::npos ? path : path.substr(dot + 1);
}

bool is_quant_tensor_section(const std::string& section) {
    return section.starts_with("quant.") &&
           config::find_quant_tensor(section.substr(std::string("quant.").size())) != nullptr;
}

QString tooltip(const config::FieldSpec& spec) {
    return QStringLiteral("%1\n%2: %3")
        .arg(QString::fromStdString(spec.doc),
             QString::fromStdString(spec.path),
             QString::fromStdString(config::describe_expected(spec)));
}

// Whether the kernels' format table allows `traits` for the tensor type (docs/
// quantized-pretraining.md §Format table): weights, activations and output gradients, or the
// optimizer states.
bool granularity_allowed(const std::string& tensor, const kernels::GranularityTraits& traits) {
    if (tensor == "weight") {
        return traits.for_weights;
    }
    if (tensor.starts_with("optim_")) {
        return traits.for_states;
    }
    return traits.for_activations;
}

QLabel* errorLabel() {
    auto* label = new QLabel;
    label->setWordWrap(true);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    label->setStyleSheet(QStringLiteral("color: #d03030;"));
    label->hide();
    return label;
}

}  // namespace

RecipeForm::RecipeForm(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    matrix_ = buildMatrix();
    layout->addWidget(matrix_);

    // Every other section as a group, in table order, spread over three columns.
    std::vector<std::string> sections = {""};
    for (const config::SectionSpec& s : config::recipe_sections()) {
        if (s.path != "quant" && !is_quant_tensor_section(s.path)) {
            sections.push_back(s.path);
        }
    }
    // Columns stack their groups from the top, so a short group leaves no gap beside a long one.
    auto* columns = new QHBoxLayout;
    std::vector<QVBoxLayout*> column_layouts;
    for (int column = 0; column < 3; ++column) {
        column_layouts.push_back(new QVBoxLayout);
        columns->addLayout(column_layouts.back(), 1);
    }
    std::vector<int> rows_per_column(3, 0);
    for (const std::string& section : sections) {
        auto* box = new QGroupBox(section.empty() ? tr("run") : QString::fromStdString(section));
        box->setObjectName(QStringLiteral("section:%1").arg(QString::fromStdString(section)));
        sections_[section] = box;
        if (const config::SectionSpec* spec = config::find_section(section)) {
            box->setToolTip(QString::fromStdString(spec->doc));
        }
        auto* form = new QFormLayout(box);
        form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
        int count = 0;
        for (const config::FieldSpec& spec : config::recipe_fields()) {
            if (section_of(spec.path) != section) {
                continue;
            }
            Field field{&spec, makeEditor(spec), errorLabel(), {}};
            auto* cell = new QWidget;
            auto* cell_layout = new QVBoxLayout(cell);
            cell_layout->setContentsMargins(0, 0, 0, 0);
            cell_layout->setSpacing(1);
            cell_layout->addWidget(field.editor);
            cell_layout->addWidget(field.error);
            auto* label = new QLabel(QString::fromStdString(key_of(spec.path)));
            label->setToolTip(tooltip(spec));
            form->addRow(label, cell);
            fields_[spec.path] = field;
            ++count;
        }
        // The least filled column takes the next group.
        const auto column = static_cast<std::size_t>(
            std::min_element(rows_per_column.begin(), rows_per_column.end()) -
            rows_per_column.begin());
        rows_per_column[column] += count + 2;
        column_layouts[column]->addWidget(box);
    }
    for (QVBoxLayout* column : column_layouts) {
        column->addStretch(1);
    }
    layout->addLayout(columns, 1);
    setQatMode(false);
}

void RecipeForm::setQatMode(bool qat) {
    qat_mode_ = qat;
    matrix_->setVisible(!qat);
    for (const auto& [section, box] : sections_) {
        const bool is_qat = section == "qat" || section.starts_with("qat.");
        // A qat recipe needs the run's name and seed and its qat sections; the model, data and
        // training sections describe a training run.
        box->setVisible(section.empty() || is_qat == qat);
    }
}

QWidget* RecipeForm::buildMatrix() {
    auto* box = new QGroupBox(tr("quant: bit-width matrix"));
    box->setObjectName(QStringLiteral("bitWidthMatrix"));
    auto* outer = new QVBoxLayout(box);
    auto* grid = new QGridLayout;
    grid->setHorizontalSpacing(6);
    const auto tensors = config::quant_tensors();
    // Columns: the keys of the first tensor's section, in table order (all tensors share them).
    std::vector<std::string> keys;
    const std::string first = "quant." + tensors.front().name;
    for (const config::FieldSpec& spec : config::recipe_fields()) {
        if (section_of(spec.path) == first) {
            keys.push_back(key_of(spec.path));
        }
    }
    matrix_error_ = errorLabel();
    for (std::size_t c = 0; c < keys.size(); ++c) {
        auto* header = new QLabel(QStringLiteral("<b>%1</b>").arg(QString::fromStdString(keys[c])));
        grid->addWidget(header, 0, static_cast<int>(c) + 1);
    }
    int row = 1;
    for (const config::QuantTensorSpec& tensor : tensors) {
        auto* name = new QLabel(QString::fromStdString(tensor.name));
        grid->addWidget(name, row, 0);
        for (std::size_t c = 0; c < keys.size(); ++c) {
            const std::string path = "quant." + tensor.name + "." + keys[c];
            const config::FieldSpec* spec = config::find_field(path);
            if (spec == nullptr) {
                continue;
            }
            Field field{spec, makeEditor(*spec), matrix_error_, {}};
            field.editor->setToolTip(tooltip(*spec));
            if (auto* combo = qobject_cast<QComboBox*>(field.editor);
                combo && keys[c] == "granularity") {
                // Offer only the granularities the format table allows for this tensor type.
                for (const kernels::GranularityTraits& traits : kernels::kGranularityTraits) {
                    if (!granularity_allowed(tensor.name, traits)) {
                        combo->removeItem(combo->findText(QString::fromLatin1(traits.name)));
                    }
                }
            }
            if (qobject_cast<QLineEdit*>(field.editor) != nullptr) {
                field.editor->setMaximumWidth(110);  // numbers: keep the matrix compact
            }
            grid->addWidget(field.editor, row, static_cast<int>(c) + 1);
            fields_[path] = field;
        }
        ++row;
    }
    grid->setColumnStretch(static_cast<int>(keys.size()) + 1, 1);
    outer->addLayout(grid);
    outer->addWidget(matrix_error_);

    // The rest of the quant section: scope, backward mode, optim_v mapping, overrides, ...
    auto* form = new QFormLayout;
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    for (const config::FieldSpec& spec : config::recipe_fields()) {
        if (section_of(spec.path) != "quant") {
            continue;
        }
        Field field{&spec, makeEditor(spec), errorLabel(), {}};
        auto* cell = new QWidget;
        auto* cell_layout = new QVBoxLayout(cell);
        cell_layout->setContentsMargins(0, 0, 0, 0);
        cell_layout->setSpacing(1);
        cell_layout->addWidget(field.editor);
        cell_layout->addWidget(field.error);
        auto* label = new QLabel(QString::fromStdString(key_of(spec.path)));
        label->setToolTip(tooltip(spec));
        form->addRow(label, cell);
        fields_[spec.path] = field;
    }
    outer->addLayout(form);
    return box;
}

QWidget* RecipeForm::makeEditor(const config::FieldSpec& spec) {
    QWidget* editor = nullptr;
    if (spec.type == config::FieldType::kBool) {
        auto* box = new QCheckBox;
        connect(box, &QCheckBox::toggled, this, [this] {
            if (!loading_) {
                Q_EMIT edited();
            }
        });
        editor = box;
    } else if (spec.type == config::FieldType::kEnum || !spec.allowed.empty()) {
        auto* combo = new QComboBox;
        if (spec.type == config::FieldType::kEnum) {
            for (const std::string& choice : spec.choices) {
                combo->addItem(QString::fromStdString(choice));
            }
        } else {
            for (const int64_t value : spec.allowed) {
                combo->addItem(QString::number(value));
            }
        }
        connect(combo, &QComboBox::currentTextChanged, this, [this] {
            if (!loading_) {
                Q_EMIT edited();
            }
        });
        editor = combo;
    } else {
        auto* line = new QLineEdit;
        connect(line, &QLineEdit::textEdited, this, [this] { Q_EMIT edited(); });
        editor = line;
    }
    editor->setObjectName(QString::fromStdString(spec.path));
    if (editor->toolTip().isEmpty()) {
        editor->setToolTip(tooltip(spec));
    }
    return editor;
}

QString RecipeForm::text(const Field& field) const {
    if (const auto* box = qobject_cast<QCheckBox*>(field.editor)) {
        return box->isChecked() ? QStringLiteral("true") : QStringLiteral("false");
    }
    if (const auto* combo = qobject_cast<QComboBox*>(field.editor)) {
        return combo->currentText();
    }
    return static_cast<QLineEdit*>(field.editor)->text();
}

bool RecipeForm::setText(Field& field, const QString& value) {
    if (auto* box = qobject_cast<QCheckBox*>(field.editor)) {
        if (value != QLatin1String("true") && value != QLatin1String("false")) {
            return false;
        }
        box->setChecked(value == QLatin1String("true"));
        return true;
    }
    if (auto* combo = qobject_cast<QComboBox*>(field.editor)) {
        const int index = combo->findText(value);
        if (index < 0) {
            return false;
        }
        combo->setCurrentIndex(index);
        return true;
    }
    static_cast<QLineEdit*>(field.editor)->setText(value);
    return true;
}

void RecipeForm::setRecipe(const config::Recipe& recipe) {
    loading_ = true;
    for (auto& [path, field] : fields_) {
        setText(field, QString::fromStdString(form_text(*field.spec, recipe)));
    }
    loading_ = false;
}

FormValues RecipeForm::values() const {
    FormValues values;
    for (const auto& [path, field] : fields_) {
        values[path] = text(field).toStdString();
    }
    return values;
}

bool RecipeForm::setValueText(const std::string& path, const QString& value) {
    const auto found = fields_.find(path);
    if (found == fields_.end() || !setText(found->second, value)) {
        return false;
    }
    Q_EMIT edited();
    return true;
}

QWidget* RecipeForm::editorOf(const std::string& path) const {
    const auto found = fields_.find(path);
    return found == fields_.end() ? nullptr : found->second.editor;
}

bool RecipeForm::showError(const std::string& key_path, const QString& message) {
    // The field itself, or the closest enclosing key (quant.overrides[0].weight.bits belongs to
    // quant.overrides).
    std::string path = key_path;
    const auto bracket = path.find('[');
    if (bracket != std::string::npos) {
        path.resize(bracket);
    }
    while (!path.empty() && !fields_.count(path)) {
        const auto dot = path.rfind('.');
        path = dot == std::string::npos ? std::string() : path.substr(0, dot);
    }
    if (path.empty()) {
        return false;
    }
    Field& field = fields_[path];
    field.shown_error = message;
    field.error->setText(message);
    field.error->show();
    field.editor->setStyleSheet(QStringLiteral("border: 1px solid #d03030;"));
    return true;
}

void RecipeForm::clearErrors() {
    for (auto& [path, field] : fields_) {
        if (!field.shown_error.isEmpty()) {
            field.shown_error.clear();
            field.error->hide();
            field.editor->setStyleSheet(QString());
        }
    }
}

QString RecipeForm::errorAt(const std::string& path) const {
    const auto found = fields_.find(path);
    return found == fields_.end() ? QString() : found->second.shown_error;
}

}  // namespace lowbit::ui
