#include "editor/recipe_form_text.h"

#include <string_view>
#include <vector>

namespace lowbit::ui {

namespace {

std::vector<std::string> split_path(std::string_view path) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = path.find('.', start);
        parts.emplace_back(path.substr(start, dot - start));
        if (dot == std::string_view::npos) {
            return parts;
        }
        start = dot + 1;
    }
}

}  // namespace

std::string form_text(const config::FieldSpec& field, const config::Recipe& recipe) {
    const config::FieldValue value = field.get(recipe);
    if (field.type == config::FieldType::kString) {
        return std::get<std::string>(value);  // shown as typed; quoted when emitted
    }
    return config::field_value_yaml(field, value);
}

FormValues form_values(const config::Recipe& recipe) {
    FormValues values;
    for (const config::FieldSpec& field : config::recipe_fields()) {
        values[field.path] = form_text(field, recipe);
    }
    return values;
}

std::string form_yaml(const FormValues& values) {
    std::string out;
    std::vector<std::string> open;  // the sections open at the current line, outermost first
    for (const config::FieldSpec& field : config::recipe_fields()) {
        const auto found = values.find(field.path);
        if (found == values.end()) {
            continue;
        }
        std::vector<std::string> parts = split_path(field.path);
        const std::string key = parts.back();
        parts.pop_back();
        std::size_t common = 0;
        while (common < open.size() && common < parts.size() && open[common] == parts[common]) {
            ++common;
        }
        open.resize(common);
        for (std::size_t i = common; i < parts.size(); ++i) {
            out += std::string(2 * i, ' ') + parts[i] + ":\n";
            open.push_back(parts[i]);
        }
        const std::string text = field.type == config::FieldType::kString
                                     ? config::field_value_yaml(field, found->second)
                                     : found->second;
        out += std::string(2 * parts.size(), ' ') + key + ": " + text + "\n";
    }
    return out;
}

}  // namespace lowbit::ui
