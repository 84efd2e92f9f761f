// RecipeError formatting and the nearest-key suggestion for unknown keys (Levenshtein distance,
// also on the '_'-separated words of a key in sorted order, so lr_min finds min_lr).
#include "lowbit/config/recipe_schema.h"
#include "lowbit/config/recipe_yaml.h"

#include <algorithm>
#include <vector>

#include "key_suggest.h"

namespace lowbit::config {
namespace {

std::string format_error(const std::string& file,
                         int line,
                         int column,
                         const std::string& key_path,
                         const std::string& detail) {
    std::string text = file;
    if (line > 0) {
        text += ":" + std::to_string(line) + ":" + std::to_string(column);
    }
    text += ": ";
    if (!key_path.empty()) {
        text += key_path + ": ";
    }
    return text + detail;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            const std::size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
            row[j] = std::min({above + 1, row[j - 1] + 1, substitute});
            diagonal = above;
        }
    }
    return row[b.size()];
}

// "lr_min" -> "lr_min", "min_lr" -> "lr_min": word order does not count.
std::string sorted_words(std::string_view key) {
    std::vector<std::string> words;
    std::size_t start = 0;
    while (start <= key.size()) {
        const std::size_t end = std::min(key.find('_', start), key.size());
        words.emplace_back(key.substr(start, end - start));
        start = end + 1;
    }
    std::sort(words.begin(), words.end());
    std::string joined;
    for (const auto& w : words) {
        joined += (joined.empty() ? "" : "_") + w;
    }
    return joined;
}

std::size_t key_distance(std::string_view a, std::string_view b) {
    return std::min(edit_distance(a, b), edit_distance(sorted_words(a), sorted_words(b)));
}

std::vector<std::string> all_key_paths() {
    std::vector<std::string> paths;
    for (const FieldSpec& f : recipe_fields()) {
        paths.push_back(f.path);
    }
    for (const SectionSpec& s : recipe_sections()) {
        paths.push_back(s.path);
    }
    return paths;
}

}  // namespace

RecipeError::RecipeError(
    std::string file, int line, int column, std::string key_path, std::string detail)
    : std::runtime_error(format_error(file, line, column, key_path, detail)),
      file_(std::move(file)),
      line_(line),
      column_(column),
      key_path_(std::move(key_path)),
      detail_(std::move(detail)) {}

namespace detail {

std::pair<std::string, std::string> split_key_path(std::string_view path) {
    const std::size_t dot = path.rfind('.');
    if (dot == std::string_view::npos) {
        return {"", std::string(path)};
    }
    return {std::string(path.substr(0, dot)), std::string(path.substr(dot + 1))};
}

std::string nearest_key(std::string_view typed_path) {
    const auto [typed_section, typed_key] = split_key_path(typed_path);
    std::string best;
    std::size_t best_score = SIZE_MAX;
    for (const std::string& candidate : all_key_paths()) {
        const auto [section, key] = split_key_path(candidate);
        // A typo within the section, or the right key in the wrong section (one extra point).
        std::size_t score = key_distance(typed_path, candidate);
        score = std::min(score, key_distance(typed_key, key) + (section == typed_section ? 0 : 1));
        // "warmup" for "warmup_steps": a whole-word prefix.
        if (typed_key.size() >= 3 && key.starts_with(typed_key + "_")) {
            score = std::min<std::size_t>(score, section == typed_section ? 1 : 2);
        }
        if (score < best_score) {
            best_score = score;
            best = candidate;
        }
    }
    const std::size_t limit = std::max<std::size_t>(2, typed_key.size() / 3);
    return best_score <= limit ? best : "";
}

std::string nearest_word(std::string_view typed, const std::vector<std::string>& candidates) {
    std::string best;
    std::size_t best_score = SIZE_MAX;
    for (const std::string& candidate : candidates) {
        const std::size_t score = edit_distance(typed, candidate);
        if (score < best_score) {
            best_score = score;
            best = candidate;
        }
    }
    return best_score <= std::max<std::size_t>(2, typed.size() / 3) ? best : "";
}

std::string unknown_key_message(std::string_view typed_path) {
    std::string text = "unknown key '" + std::string(typed_path) + "'";
    if (const std::string nearest = nearest_key(typed_path); !nearest.empty()) {
        return text + "; did you mean '" + nearest + "'?";
    }
    const std::string section = split_key_path(typed_path).first;
    std::string valid;
    for (const std::string& candidate : all_key_paths()) {
        const auto [parent, key] = split_key_path(candidate);
        if (parent == section) {
            valid += (valid.empty() ? "" : ", ") + key;
        }
    }
    return text + " (expected one of: " + valid + ")";
}

}  // namespace detail
}  // namespace lowbit::config
