// Expansion of `--vary` axes into sweep points.
#include "lowbit/config/sweep_grid.h"

#include "lowbit/config/recipe_yaml.h"

#include <set>

namespace lowbit::config {
namespace {

[[noreturn]] void fail(const std::string& text, const std::string& detail) {
    throw RecipeError("--vary", 0, 0, text, detail);
}

std::string trim(const std::string& s) {
    const auto first = s.find_first_not_of(" \t");
    if (first == std::string::npos) {
        return {};
    }
    return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

}  // namespace

std::vector<std::string> SweepPoint::overrides() const {
    std::vector<std::string> out;
    out.reserve(assignments.size());
    for (const auto& [key, value] : assignments) {
        out.push_back(key + "=" + value);
    }
    return out;
}

std::string SweepPoint::label() const {
    std::string text;
    for (const auto& [key, value] : assignments) {
        text += (text.empty() ? "" : " ") + key + "=" + value;
    }
    return text;
}

SweepAxis parse_sweep_axis(const std::string& text) {
    const auto eq = text.find('=');
    if (eq == std::string::npos) {
        fail(text, "expected key=value1,value2,... (e.g. quant.weight.bits=8,4)");
    }
    SweepAxis axis;
    axis.key = trim(text.substr(0, eq));
    if (axis.key.empty()) {
        fail(text, "the key before '=' is empty (expected e.g. seed=1,2,3)");
    }
    // Split on commas at bracket depth 0 so list values keep their own commas.
    int depth = 0;
    std::string current;
    const std::string values = text.substr(eq + 1);
    for (const char c : values) {
        if (c == '[' || c == '{') {
            ++depth;
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
        if (c == ',' && depth == 0) {
            axis.values.push_back(trim(current));
            current.clear();
        } else {
            current += c;
        }
    }
    axis.values.push_back(trim(current));
    for (const std::string& value : axis.values) {
        if (value.empty()) {
            fail(text, "an empty value for " + axis.key + " (expected values separated by commas)");
        }
    }
    return axis;
}

std::vector<SweepPoint> expand_sweep(const std::vector<SweepAxis>& axes) {
    std::set<std::string> keys;
    for (const SweepAxis& axis : axes) {
        if (!keys.insert(axis.key).second) {
            fail(axis.key, "is varied twice (expected one --vary per key)");
        }
        if (axis.values.empty()) {
            fail(axis.key, "has no values");
        }
    }
    std::vector<SweepPoint> points{SweepPoint{}};
    for (const SweepAxis& axis : axes) {
        std::vector<SweepPoint> next;
        next.reserve(points.size() * axis.values.size());
        for (const SweepPoint& point : points) {
            for (const std::string& value : axis.values) {
                SweepPoint extended = point;
                extended.assignments.emplace_back(axis.key, value);
                next.push_back(std::move(extended));
            }
        }
        points = std::move(next);
    }
    return points;
}

}  // namespace lowbit::config
