// Run reports: the aligned run table, run details (JSON and text) and the wide scalar CSV.
#include "lowbit/store/run_report.h"

#include "lowbit/store/run_liveness.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <map>
#include <sstream>

namespace lowbit::store {

namespace {

// Shortest representation that round-trips, so CSV and tables never hide a difference.
std::string format_double(double value) {
    if (std::isnan(value)) {
        return "nan";
    }
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
    return std::string(buffer, result.ptr);
}

std::string format_fixed(double value, int decimals) {
    if (std::isnan(value)) {
        return "nan";
    }
    std::ostringstream out;
    out.setf(std::ios::fixed);
    out.precision(decimals);
    out << value;
    return out.str();
}

nlohmann::json parse_or_raw(const std::string& text) {
    if (text.empty()) {
        return nlohmann::json::object();
    }
    auto parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    return parsed.is_discarded() ? nlohmann::json(text) : parsed;
}

nlohmann::json optional_json(const std::optional<double>& value) {
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

nlohmann::json metrics_json(const std::map<std::string, MetricAt>& metrics) {
    nlohmann::json object = nlohmann::json::object();
    for (const auto& [key, metric] : metrics) {
        object[key] = {{"step", metric.step}, {"value", metric.value}};
    }
    return object;
}

std::string csv_field(const std::string& text) {
    if (text.find_first_of(",\"\n\r") == std::string::npos) {
        return text;
    }
    std::string quoted = "\"";
    for (const char c : text) {
        quoted += c;
        if (c == '"') {
            quoted += '"';
        }
    }
    return quoted + "\"";
}

std::string human_bytes(int64_t bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double value = static_cast<double>(bytes);
    size_t unit = 0;
    while (value >= 1024.0 && unit + 1 < std::size(units)) {
        value /= 1024.0;
        ++unit;
    }
    return (unit == 0 ? std::to_string(bytes) : format_fixed(value, 1)) + " " + units[unit];
}

std::string human_duration(double seconds) {
    const auto total = static_cast<int64_t>(std::llround(seconds));
    std::ostringstream out;
    if (total >= 3600) {
        out << total / 3600 << "h ";
    }
    if (total >= 60) {
        out << (total / 60) % 60 << "m ";
    }
    out << total % 60 << "s";
    return out.str();
}

std::string json_text(const nlohmann::json& details, const char* key) {
    const auto it = details.find(key);
    if (it == details.end() || it->is_null()) {
        return {};
    }
    return it->is_string() ? it->get<std::string>() : it->dump();
}

double json_time(const nlohmann::json& details, const char* key) {
    const auto it = details.find(key);
    return it != details.end() && it->is_number() ? it->get<double>() : 0.0;
}

// Appends "  key   value" lines of a {key: {step, value}} object.
void append_metric_lines(std::ostringstream& out,
                         const nlohmann::json& details,
                         const char* section,
                         const char* title) {
    const auto it = details.find(section);
    if (it == details.end() || !it->is_object() || it->empty()) {
        return;
    }
    size_t width = 0;
    for (const auto& [key, value] : it->items()) {
        width = std::max(width, key.size());
    }
    out << title << ":\n";
    for (const auto& [key, entry] : it->items()) {
        const auto value = entry.value("value", nlohmann::json(nullptr));
        out << "  " << key << std::string(width - key.size() + 2, ' ')
            << (value.is_number() ? format_double(value.get<double>()) : std::string("nan"))
            << "  (step " << entry.value("step", int64_t{0}) << ")\n";
    }
}

}  // namespace

std::string format_local_time(double unix_seconds) {
    if (unix_seconds == 0) {
        return {};
    }
    const auto seconds = static_cast<std::time_t>(unix_seconds);
    std::tm local{};
    localtime_r(&seconds, &local);
    char buffer[32];
    const size_t size = std::strftime(buffer, sizeof(buffer), "%Y-%m-%d %H:%M", &local);
    return std::string(buffer, size);
}

std::string format_run_table(const RunReader& reader, const std::vector<RunRecord>& runs) {
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"ID", "NAME", "KIND", "STATUS", "CREATED", "TRAIN LOSS", "VAL LOSS"});
    const LivenessCheck liveness = LivenessCheck::here();
    for (const auto& run : runs) {
        const RunResults results = run_results(reader, run.id);
        const auto train = results.final_value("train/loss");
        const auto val = results.best_value("val/loss");
        rows.push_back({std::to_string(run.id),
                        run.name.empty() ? std::string("-") : run.name,
                        run.kind,
                        to_string(observed_status(run, liveness)),
                        format_local_time(run.created_at),
                        train ? format_fixed(*train, 4) : std::string("-"),
                        val ? format_fixed(*val, 4) : std::string("-")});
    }
    std::vector<size_t> widths(rows.front().size(), 0);
    for (const auto& row : rows) {
        for (size_t c = 0; c < row.size(); ++c) {
            widths[c] = std::max(widths[c], row[c].size());
        }
    }
    std::string text;
    for (const auto& row : rows) {
        std::string line;
        for (size_t c = 0; c < row.size(); ++c) {
            // Numbers (id and losses) are right-aligned so their digits line up.
            const bool right = c == 0 || c >= 5;
            const std::string pad(widths[c] - row[c].size(), ' ');
            line += right ? pad + row[c] : row[c] + pad;
            line += c + 1 < row.size() ? "  " : "";
        }
        line.erase(line.find_last_not_of(' ') + 1);
        text += line + "\n";
    }
    return text;
}

nlohmann::json run_details_json(const RunReader& reader, const RunRecord& run) {
    nlohmann::json details;
    details["id"] = run.id;
    details["name"] = run.name;
    details["kind"] = run.kind;
    details["status"] = to_string(observed_status(run, LivenessCheck::here()));
    details["stored_status"] = to_string(run.status);
    details["group"] = run.group_name;
    details["tags"] = run.tags;
    details["notes"] = run.notes;
    details["host"] = run.host;
    details["parent_run_id"] =
        run.parent_run_id ? nlohmann::json(*run.parent_run_id) : nlohmann::json(nullptr);
    details["fork_step"] = run.fork_step ? nlohmann::json(*run.fork_step) : nlohmann::json(nullptr);
    details["created_at"] = run.created_at;
    details["started_at"] = optional_json(run.started_at);
    details["ended_at"] = optional_json(run.ended_at);
    details["duration_seconds"] = run.started_at && run.ended_at
                                      ? nlohmann::json(*run.ended_at - *run.started_at)
                                      : nlohmann::json(nullptr);
    details["pid"] = run.pid ? nlohmann::json(*run.pid) : nlohmann::json(nullptr);
    details["heartbeat_at"] = optional_json(run.heartbeat_at);
    details["recipe"] = parse_or_raw(run.recipe_json);
    details["summary"] = parse_or_raw(run.summary_json);
    details["build_info"] = parse_or_raw(run.build_info_json);

    const RunResults results = run_results(reader, run.id);
    details["final"] = metrics_json(results.final);
    details["best"] = metrics_json(results.best);
    details["diverged_at_step"] = results.diverged_at_step
                                      ? nlohmann::json(*results.diverged_at_step)
                                      : nlohmann::json(nullptr);

    nlohmann::json checkpoints = nlohmann::json::array();
    for (const auto& file : reader.checkpoints(run.id)) {
        checkpoints.push_back({{"step", file.step},
                               {"path", file.path},
                               {"bytes", file.bytes},
                               {"sha256", file.sha256}});
    }
    details["checkpoints"] = std::move(checkpoints);
    nlohmann::json artifacts = nlohmann::json::array();
    for (const auto& file : reader.artifacts(run.id)) {
        artifacts.push_back({{"kind", file.kind},
                             {"step", file.step},
                             {"path", file.path},
                             {"bytes", file.bytes},
                             {"sha256", file.sha256}});
    }
    details["artifacts"] = std::move(artifacts);
    details["event_count"] = reader.event_count(run.id);
    return details;
}

std::string format_run_details(const nlohmann::json& details) {
    std::ostringstream out;
    out << "Run " << json_text(details, "id");
    if (const auto name = json_text(details, "name"); !name.empty()) {
        out << "  " << name;
    }
    out << "  (" << json_text(details, "kind") << ", " << json_text(details, "status") << ")\n";
    const auto line = [&out](const char* label, const std::string& value) {
        if (!value.empty()) {
            out << "  " << label << std::string(10 - std::string(label).size(), ' ') << value
                << "\n";
        }
    };
    line("created", format_local_time(json_time(details, "created_at")));
    line("started", format_local_time(json_time(details, "started_at")));
    line("ended", format_local_time(json_time(details, "ended_at")));
    const auto duration = details.find("duration_seconds");
    if (duration != details.end() && duration->is_number()) {
        line("duration", human_duration(duration->get<double>()));
    }
    line("host", json_text(details, "host"));
    line("group", json_text(details, "group"));
    line("tags", json_text(details, "tags"));
    line("notes", json_text(details, "notes"));
    if (const auto parent = json_text(details, "parent_run_id"); !parent.empty()) {
        line("forked", "from run " + parent + " at step " + json_text(details, "fork_step"));
    }
    append_metric_lines(out, details, "final", "Final values");
    append_metric_lines(out, details, "best", "Best values");
    for (const char* section : {"checkpoints", "artifacts"}) {
        const auto files = details.find(section);
        if (files == details.end() || !files->is_array() || files->empty()) {
            continue;
        }
        out << (std::string(section) == "checkpoints" ? "Checkpoints" : "Artifacts") << ":\n";
        for (const auto& file : *files) {
            out << "  ";
            if (file.contains("kind")) {
                out << file.value("kind", std::string()) << "  ";
            }
            out << "step " << file.value("step", int64_t{0}) << "  "
                << file.value("path", std::string()) << "  "
                << human_bytes(file.value("bytes", int64_t{0})) << "  sha256 "
                << file.value("sha256", std::string()) << "\n";
        }
    }
    out << "Events: " << details.value("event_count", int64_t{0}) << "\n";
    for (const auto& [key, title] : {std::pair{"recipe", "Recipe"}, {"summary", "Summary"}}) {
        const auto it = details.find(key);
        if (it != details.end() && !it->is_null() && !(it->is_object() && it->empty())) {
            out << title << ":\n" << it->dump(2) << "\n";
        }
    }
    return out.str();
}

void write_scalars_csv(const RunReader& reader, int64_t run_id, std::ostream& out) {
    const auto keys = reader.scalar_keys(run_id);

    struct Row {
        int64_t tokens = 0;
        double wall_time = 0;
        std::vector<std::optional<double>> values;
    };

    std::map<std::string, size_t> column;
    for (size_t i = 0; i < keys.size(); ++i) {
        column[keys[i]] = i;
    }
    std::map<int64_t, Row> rows;
    for (const auto& point : reader.scalars(run_id)) {
        auto& row = rows[point.step];
        row.values.resize(keys.size());
        // Several keys logged at one step may carry slightly different counters: keep the
        // largest, which is where the step ended.
        row.tokens = std::max(row.tokens, point.tokens);
        row.wall_time = std::max(row.wall_time, point.wall_time);
        row.values[column.at(point.key)] = point.value;  // a re-logged key: the last row wins
    }
    out << "step,tokens,wall_time";
    for (const auto& key : keys) {
        out << ',' << csv_field(key);
    }
    out << '\n';
    for (const auto& [step, row] : rows) {
        out << step << ',' << row.tokens << ',' << format_double(row.wall_time);
        for (const auto& value : row.values) {
            out << ',';
            if (value) {
                out << format_double(*value);
            }
        }
        out << '\n';
    }
}

}  // namespace lowbit::store
