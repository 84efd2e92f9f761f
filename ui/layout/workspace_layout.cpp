#include "layout/workspace_layout.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace lowbit::ui {

namespace {

using nlohmann::json;

// A problem at a place in the file, e.g. `charts[1].x_range: expected two numbers, lo < hi`.
class LayoutError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

[[noreturn]] void fail(const std::string& where, const std::string& what) {
    throw LayoutError(where + ": " + what);
}

std::string x_axis_name(XAxisKind kind) {
    switch (kind) {
        case XAxisKind::kStep:
            return "step";
        case XAxisKind::kTokens:
            return "tokens";
        case XAxisKind::kWallTime:
            return "wall_time";
    }
    return {};
}

std::string mode_name(ChartsMode mode) {
    return mode == ChartsMode::kStacked ? "stacked" : "grid";
}

// Every field of an object must be one of `allowed`.
void only_fields(const json& object,
                 const std::string& where,
                 std::initializer_list<std::string_view> allowed) {
    for (const auto& [name, value] : object.items()) {
        bool known = false;
        for (std::string_view field : allowed) {
            known = known || name == field;
        }
        if (!known) {
            fail(where, "unknown field \"" + name + "\"");
        }
    }
}

const json& object_at(const json& value, const std::string& where) {
    if (!value.is_object()) {
        fail(where, std::string("expected an object, found ") + value.type_name());
    }
    return value;
}

const json& array_at(const json& value, const std::string& where) {
    if (!value.is_array()) {
        fail(where, std::string("expected an array, found ") + value.type_name());
    }
    return value;
}

bool boolean_at(const json& value, const std::string& where) {
    if (!value.is_boolean()) {
        fail(where, std::string("expected true or false, found ") + value.type_name());
    }
    return value.get<bool>();
}

double number_at(const json& value, const std::string& where) {
    if (!value.is_number() || !std::isfinite(value.get<double>())) {
        fail(where, std::string("expected a finite number, found ") + value.dump());
    }
    return value.get<double>();
}

std::string string_at(const json& value, const std::string& where) {
    if (!value.is_string()) {
        fail(where, std::string("expected a string, found ") + value.type_name());
    }
    return value.get<std::string>();
}

int64_t run_id_at(const json& value, const std::string& where) {
    if (!value.is_number_integer()) {
        fail(where, std::string("expected a run id (an integer), found ") + value.dump());
    }
    return value.get<int64_t>();
}

QString scalar_key_at(const json& value,
                      const std::string& where,
                      const std::set<std::string>* known_keys) {
    const std::string key = string_at(value, where);
    if (key.empty()) {
        fail(where, "empty scalar key");
    }
    if (known_keys && !known_keys->count(key)) {
        fail(where, "\"" + key + "\" is not a scalar key of any run in this workspace");
    }
    return QString::fromStdString(key);
}

double weight_at(const json& value, const std::string& where) {
    const double weight = number_at(value, where);
    if (weight < 0 || weight > 0.999) {
        fail(where, "a weight between 0 and 0.999, found " + value.dump());
    }
    return weight;
}

AxisRange range_at(const json& value, const std::string& where) {
    if (!value.is_array() || value.size() != 2) {
        fail(where, "expected [lo, hi], found " + value.dump());
    }
    const double lo = number_at(value[0], where + "[0]");
    const double hi = number_at(value[1], where + "[1]");
    if (!(lo < hi)) {
        fail(where, "lo must be below hi, found " + value.dump());
    }
    return {lo, hi};
}

DerivedSpec derived_at(const json& value, const std::string& where) {
    object_at(value, where);
    only_fields(value, where, {"kind", "weight"});
    if (!value.contains("kind")) {
        fail(where, "no \"kind\"");
    }
    const std::string name = string_at(value["kind"], where + ".kind");
    const auto kind = derived_kind_from_name(name);
    if (!kind) {
        fail(where + ".kind", "\"" + name + "\" is not one of difference, ratio, ema, derivative");
    }
    DerivedSpec spec{*kind, 0};
    if (*kind == DerivedKind::kEma) {
        if (!value.contains("weight")) {
            fail(where, "an EMA needs a \"weight\"");
        }
        spec.weight = weight_at(value["weight"], where + ".weight");
    } else if (value.contains("weight")) {
        fail(where + ".weight", "only an EMA has a weight");
    }
    return spec;
}

std::pair<QString, ChartState> chart_at(const json& value,
                                        const std::string& where,
                                        const std::set<std::string>* known_keys) {
    object_at(value, where);
    only_fields(value, where, {"key", "secondary_key", "log_y2", "derived", "x_range", "y_range"});
    if (!value.contains("key")) {
        fail(where, "no \"key\"");
    }
    const QString key = scalar_key_at(value["key"], where + ".key", known_keys);
    ChartState chart;
    if (value.contains("secondary_key")) {
        chart.secondary_key =
            scalar_key_at(value["secondary_key"], where + ".secondary_key", known_keys);
    }
    if (value.contains("log_y2")) {
        chart.log_y2 = boolean_at(value["log_y2"], where + ".log_y2");
    }
    if (value.contains("derived")) {
        const json& list = array_at(value["derived"], where + ".derived");
        for (size_t i = 0; i < list.size(); ++i) {
            chart.derived.push_back(
                derived_at(list[i], where + ".derived[" + std::to_string(i) + "]"));
        }
    }
    if (value.contains("x_range")) {
        chart.x_range = range_at(value["x_range"], where + ".x_range");
    }
    if (value.contains("y_range")) {
        chart.y_range = range_at(value["y_range"], where + ".y_range");
    }
    return {key, chart};
}

WorkspaceLayout layout_at(const json& root, const std::set<std::string>* known_keys) {
    only_fields(root,
                "the file",
                {"version",
                 "mode",
                 "x_axis",
                 "smoothing",
                 "log_x",
                 "log_y",
                 "baseline_run",
                 "hidden_runs",
                 "removed_charts",
                 "charts"});
    WorkspaceLayout layout;
    ChartsState& charts = layout.charts;
    if (root.contains("mode")) {
        const std::string mode = string_at(root["mode"], "mode");
        if (mode != mode_name(ChartsMode::kGrid) && mode != mode_name(ChartsMode::kStacked)) {
            fail("mode", "\"" + mode + "\" is neither grid nor stacked");
        }
        charts.mode =
            mode == mode_name(ChartsMode::kStacked) ? ChartsMode::kStacked : ChartsMode::kGrid;
    }
    if (root.contains("x_axis")) {
        const std::string name = string_at(root["x_axis"], "x_axis");
        bool found = false;
        for (auto kind : {XAxisKind::kStep, XAxisKind::kTokens, XAxisKind::kWallTime}) {
            if (name == x_axis_name(kind)) {
                charts.x_axis = kind;
                found = true;
            }
        }
        if (!found) {
            fail("x_axis", "\"" + name + "\" is not one of step, tokens, wall_time");
        }
    }
    if (root.contains("smoothing")) {
        charts.smoothing = weight_at(root["smoothing"], "smoothing");
    }
    if (root.contains("log_x")) {
        charts.log_x = boolean_at(root["log_x"], "log_x");
    }
    if (root.contains("log_y")) {
        charts.log_y = boolean_at(root["log_y"], "log_y");
    }
    if (root.contains("baseline_run") && !root["baseline_run"].is_null()) {
        charts.baseline_run = run_id_at(root["baseline_run"], "baseline_run");
    }
    if (root.contains("hidden_runs")) {
        const json& list = array_at(root["hidden_runs"], "hidden_runs");
        for (size_t i = 0; i < list.size(); ++i) {
            layout.hidden_runs.insert(run_id_at(list[i], "hidden_runs[" + std::to_string(i) + "]"));
        }
    }
    if (root.contains("removed_charts")) {
        const json& list = array_at(root["removed_charts"], "removed_charts");
        for (size_t i = 0; i < list.size(); ++i) {
            charts.removed_keys.insert(
                scalar_key_at(list[i], "removed_charts[" + std::to_string(i) + "]", known_keys));
        }
    }
    if (root.contains("charts")) {
        const json& list = array_at(root["charts"], "charts");
        for (size_t i = 0; i < list.size(); ++i) {
            const std::string where = "charts[" + std::to_string(i) + "]";
            auto [key, chart] = chart_at(list[i], where, known_keys);
            if (charts.charts.count(key)) {
                fail(where, "a second entry for \"" + key.toStdString() + "\"");
            }
            if (!chart.isDefault()) {
                charts.charts[key] = chart;
            }
        }
    }
    return layout;
}

json range_json(const AxisRange& range) {
    return json::array({range.first, range.second});
}

}  // namespace

std::string layout_to_json(const WorkspaceLayout& layout) {
    const ChartsState& charts = layout.charts;
    json root = json::object();
    root["version"] = WorkspaceLayout::kVersion;
    root["mode"] = mode_name(charts.mode);
    root["x_axis"] = x_axis_name(charts.x_axis);
    root["smoothing"] = charts.smoothing;
    root["log_x"] = charts.log_x;
    root["log_y"] = charts.log_y;
    root["baseline_run"] = charts.baseline_run ? json(*charts.baseline_run) : json(nullptr);
    root["hidden_runs"] = json(layout.hidden_runs);
    json removed = json::array();
    for (const QString& key : charts.removed_keys) {
        removed.push_back(key.toStdString());
    }
    root["removed_charts"] = removed;
    json list = json::array();
    for (const auto& [key, chart] : charts.charts) {
        json entry = {{"key", key.toStdString()}};
        if (!chart.secondary_key.isEmpty()) {
            entry["secondary_key"] = chart.secondary_key.toStdString();
        }
        if (chart.log_y2) {
            entry["log_y2"] = true;
        }
        if (!chart.derived.empty()) {
            json derived = json::array();
            for (const DerivedSpec& spec : chart.derived) {
                json item = {{"kind", derived_kind_name(spec.kind)}};
                if (spec.kind == DerivedKind::kEma) {
                    item["weight"] = spec.weight;
                }
                derived.push_back(item);
            }
            entry["derived"] = derived;
        }
        if (chart.x_range) {
            entry["x_range"] = range_json(*chart.x_range);
        }
        if (chart.y_range) {
            entry["y_range"] = range_json(*chart.y_range);
        }
        list.push_back(entry);
    }
    root["charts"] = list;
    return root.dump(2) + "\n";
}

LayoutParse parse_layout(std::string_view text, const std::set<std::string>* known_keys) {
    LayoutParse parse;
    json root;
    try {
        root = json::parse(text);
    } catch (const json::parse_error& error) {
        parse.problem = std::string("not valid JSON (") + error.what() + ")";
        return parse;
    }
    try {
        object_at(root, "the file");
        if (!root.contains("version")) {
            fail("the file", "no \"version\"");
        }
        if (!root["version"].is_number_integer() || root["version"].get<int64_t>() < 1) {
            fail("version", "expected a positive integer, found " + root["version"].dump());
        }
        const int64_t version = root["version"].get<int64_t>();
        if (version > WorkspaceLayout::kVersion) {
            parse.outcome = LayoutParse::Outcome::kNewerVersion;
            parse.version = static_cast<int>(std::min<int64_t>(version, 1 << 30));
            return parse;
        }
        parse.version = static_cast<int>(version);
        parse.layout = layout_at(root, known_keys);
        parse.outcome = LayoutParse::Outcome::kLoaded;
    } catch (const LayoutError& error) {
        parse.layout = {};
        parse.problem = error.what();
    }
    return parse;
}

}  // namespace lowbit::ui
