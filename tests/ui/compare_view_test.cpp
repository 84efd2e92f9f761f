// The compare view: Qt's model tester on its three models; the config diff of presets against key
// sets read off the YAML files by hand; a recipe with one key changed through the schema table
// differing in that key alone; results, differences to the baseline and seed aggregates against
// SQL over a workspace written here and against lowbit_store's aggregate_over_seeds(); group
// curves against hand-worked values and an SQL average per step; unreadable recipes.
#include "compare/compare_view.h"

#include "lowbit/config/recipe.h"
#include "lowbit/config/recipe_json.h"
#include "lowbit/config/recipe_schema.h"
#include "lowbit/config/recipe_yaml.h"
#include "lowbit/store/run_aggregate.h"
#include "lowbit/store/run_reader.h"
#include "lowbit/store/run_writer.h"
#include "lowbit/store/workspace.h"

#include <QAbstractItemModelTester>
#include <QFont>
#include <QTemporaryDir>
#include <QTest>
#include <sqlite3.h>

#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "charts/scalar_chart.h"
#include "compare/config_diff.h"
#include "compare/config_diff_model.h"
#include "compare/group_curves.h"
#include "compare/results_model.h"
#include "compare/run_groups.h"
#include "compare/seed_groups_model.h"
#include "controllers/workspace_worker.h"
#include "models/runs_model.h"

using namespace lowbit::ui;
namespace config = lowbit::config;
namespace store = lowbit::store;

namespace {

constexpr double kTolerance = 1e-9;

config::Recipe preset(const std::string& name) {
    return config::load_recipe_file(std::string(LOWBIT_PRESET_DIR) + "/pretrain/gpt2/" + name +
                                    ".yaml");
}

// Key paths, sorted, so that sets compare as lists.
QStringList sorted(const std::set<std::string>& keys) {
    QStringList list;
    for (const std::string& key : keys) {
        list << QString::fromStdString(key);
    }
    return list;
}

QStringList differing_keys(const std::vector<RecipeColumn>& columns) {
    std::set<std::string> keys;
    for (const ConfigDiffRow& row : diff_recipes(columns)) {
        if (row.differs) {
            keys.insert(row.field->path);
        }
    }
    return sorted(keys);
}

// A first-column number of an SQL query on the workspace's database (nullopt: no row or NULL).
std::optional<double> queryNumber(const QString& root, const std::string& sql) {
    sqlite3* db = nullptr;
    const std::string file = (root + QStringLiteral("/runs.sqlite")).toStdString();
    sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* stmt = nullptr;
    std::optional<double> value;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL) {
        value = sqlite3_column_double(stmt, 0);
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return value;
}

std::string finalSql(int64_t run, const char* key) {
    return "SELECT value FROM scalars WHERE run_id = " + std::to_string(run) + " AND key = '" +
           key + "' ORDER BY step DESC LIMIT 1";
}

std::string bestSql(int64_t run, const char* key) {
    return "SELECT MIN(value) FROM scalars WHERE run_id = " + std::to_string(run) + " AND key = '" +
           key + "'";
}

std::string idList(const std::vector<int64_t>& ids) {
    std::string text;
    for (int64_t id : ids) {
        text += (text.empty() ? "" : ",") + std::to_string(id);
    }
    return text;
}

// The final val/loss of the completed runs among `ids`: their mean and sample variance in SQL.
std::string finalValLossOfCompleted(const std::vector<int64_t>& ids) {
    return "(SELECT (SELECT value FROM scalars s WHERE s.run_id = r.id AND s.key = 'val/loss' "
           "ORDER BY s.step DESC LIMIT 1) AS v FROM runs r WHERE r.status = 'completed' AND r.id "
           "IN (" +
           idList(ids) + "))";
}

std::string meanSql(const std::vector<int64_t>& ids) {
    return "SELECT AVG(v) FROM " + finalValLossOfCompleted(ids);
}

std::string varianceSql(const std::vector<int64_t>& ids) {
    return "SELECT (SUM(v * v) - SUM(v) * SUM(v) / COUNT(v)) / (COUNT(v) - 1) FROM " +
           finalValLossOfCompleted(ids);
}

struct WrittenRun {
    int64_t id = 0;
    int bits = 32;
};

// A run of the sweep: 40 steps of train/loss, val/loss every 10 steps with its lowest value at
// step 30 for odd seeds (so best and final differ), NaN from step 25 on when it diverges.
WrittenRun writeRun(
    store::Workspace& workspace, const std::string& label, int bits, uint64_t seed, bool diverges) {
    config::Recipe recipe;
    recipe.name = label + " [seed=" + std::to_string(seed) + "]";
    recipe.seed = seed;
    recipe.train.steps = 40;
    if (bits <= 8) {
        recipe.quant.weight.bits = bits;
    }
    store::RunWriter writer(workspace);
    store::RunRecord record;
    record.name = recipe.name;
    record.kind = "train";
    record.recipe_json = config::recipe_to_json(recipe).dump();
    record.group_name = "sweep-a";
    record.summary_json = "{}";
    const int64_t id = writer.create_run(record);
    writer.set_status(id, store::RunStatus::kRunning);
    const double offset = (bits == 32 ? 0.0 : bits == 8 ? 0.05 : 0.3) + 0.01 * double(seed);
    for (int64_t step = 1; step <= 40; ++step) {
        const bool nan = diverges && step >= 25;
        const double loss = nan ? std::numeric_limits<double>::quiet_NaN()
                                : 2.0 + 2.0 * std::exp(-double(step) / 10.0) + offset;
        writer.add_scalar({0, id, "train/loss", step, step * 64, double(step), loss});
        if (step % 10 == 0) {
            const double dip = step == 30 && seed % 2 == 1 ? -0.2 : 0.0;
            writer.add_scalar({0, id, "val/loss", step, step * 64, double(step), loss + 0.1 + dip});
        }
        if (nan) {
            writer.add_event({0, id, step, double(step), "diverged", "loss is not finite"});
            break;
        }
    }
    writer.flush();
    writer.set_status(id, diverges ? store::RunStatus::kDiverged : store::RunStatus::kCompleted);
    return {id, bits};
}

int64_t writeRawRun(store::Workspace& workspace,
                    const std::string& name,
                    const std::string& recipe_json) {
    store::RunWriter writer(workspace);
    store::RunRecord record;
    record.name = name;
    record.kind = "train";
    record.recipe_json = recipe_json;
    record.group_name = "broken";
    record.summary_json = "{}";
    const int64_t id = writer.create_run(record);
    writer.add_scalar({0, id, "train/loss", 1, 64, 1.0, 3.0});
    writer.flush();
    writer.set_status(id, store::RunStatus::kCompleted);
    return id;
}

// A value different from `value`, of the same type, for the property check.
config::FieldValue changed(const config::FieldSpec& field, const config::FieldValue& value) {
    return std::visit(
        [&field](const auto& v) -> config::FieldValue {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, bool>) {
                return !v;
            } else if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, uint64_t>) {
                return T(v + 1);
            } else if constexpr (std::is_same_v<T, double>) {
                return v * 2 + 1;
            } else if constexpr (std::is_same_v<T, std::string>) {
                if (field.type == config::FieldType::kEnum) {
                    for (const std::string& choice : field.choices) {
                        if (choice != v) {
                            return choice;
                        }
                    }
                }
                return v + "x";
            } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
                T more = v;
                more.push_back("fc1");
                return more;
            } else if constexpr (std::is_same_v<T, std::vector<double>>) {
                T more = v;
                if (more.empty()) {
                    more.push_back(0.5);
                } else {
                    more.front() = more.front() / 2;
                }
                return more;
            } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
                T more = v;
                more.push_back(7);
                return more;
            } else {  // quant.overrides
                T more = v;
                config::QuantOverride extra;
                extra.layers = "blocks.0.*";
                extra.weight = config::QuantizerSpec{};
                extra.weight->bits = 4;
                more.push_back(extra);
                return more;
            }
        },
        value);
}

}  // namespace

class CompareViewTest : public QObject {
    Q_OBJECT

private Q_SLOTS:

    void initTestCase() {
        QVERIFY(dir_.isValid());
        root_ = dir_.path();
        store::Workspace workspace = store::Workspace::open(root_.toStdString());
        // Three configurations of one sweep: the baseline and W8 with seeds 1-3, W4 with seeds
        // 1-2 of which seed 2 diverges.
        for (uint64_t seed : {1u, 2u, 3u}) {
            baseline_runs_.push_back(writeRun(workspace, "baseline", 32, seed, false).id);
        }
        for (uint64_t seed : {1u, 2u, 3u}) {
            w8_runs_.push_back(writeRun(workspace, "w8", 8, seed, false).id);
        }
        for (uint64_t seed : {1u, 2u}) {
            w4_runs_.push_back(writeRun(workspace, "w4", 4, seed, seed == 2).id);
        }
        not_json_ = writeRawRun(workspace, "not-json", "{\"train\": {");
        bad_value_ = writeRawRun(workspace, "bad-lr", R"({"train": {"lr": "fast"}})");
    }

    void modelsPassTheModelTester() {
        ConfigDiffModel diff;
        RunResultsModel results;
        SeedGroupsModel groups;
        QAbstractItemModelTester diff_tester(
            &diff, QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModelTester results_tester(
            &results, QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModelTester groups_tester(
            &groups, QAbstractItemModelTester::FailureReportingMode::QtTest);
        RunsModel runs;
        WorkspaceWorker worker(root_);
        connect(&worker, &WorkspaceWorker::runsRead, &runs, &RunsModel::setRuns);
        worker.open(0);
        CompareView view(&runs);
        QAbstractItemModelTester view_diff_tester(
            view.configDiff(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModelTester view_results_tester(
            view.results(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModelTester view_groups_tester(
            view.seedGroups(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        view.setWorkspace(root_);
        view.refresh();
        QCOMPARE(view.results()->rowCount(), 10);
        view.configDiff()->setDiffOnly(true);
        view.configDiff()->setDiffOnly(false);
        view.setGrouping(QStringLiteral("quant.weight.bits"));
        view.setSourceGroup(QStringLiteral("sweep-a"));
        QCOMPARE(view.results()->rowCount(), 8);
        view.setSourceGroup(QStringLiteral("no-such-group"));
        QCOMPARE(view.results()->rowCount(), 0);
        QCOMPARE(view.configDiff()->columnCount(), 0);
    }

    void presetDiffsListExactlyTheKeysThatDiffer() {
        // Read off the YAML files: baseline.yaml and w8a8g8.yaml share model, data and train;
        // w8a8g8 adds W8 per_channel, A8 per_token and G8 per_token. per_channel (W) and
        // per_token (A, G) are those tensors' default granularities, so only name and the three
        // bit-widths differ.
        QCOMPARE(
            differing_keys({{preset("baseline"), {}}, {preset("w8a8g8"), {}}}),
            sorted(
                {"name", "quant.weight.bits", "quant.activation.bits", "quant.grad_output.bits"}));
        // w8-per-channel.yaml and w8-per-tensor.yaml differ in their name and the weight's
        // granularity only (both W8).
        QCOMPARE(differing_keys({{preset("w8-per-channel"), {}}, {preset("w8-per-tensor"), {}}}),
                 sorted({"name", "quant.weight.granularity"}));
        // a4-per-tensor.yaml: A4 with per_tensor, not the activation's default per_token.
        QCOMPARE(differing_keys({{preset("baseline"), {}}, {preset("a4-per-tensor"), {}}}),
                 sorted({"name", "quant.activation.bits", "quant.activation.granularity"}));
        // m4-per-channel.yaml: the AdamW first moment at 4 bits, per_channel being its default.
        QCOMPARE(differing_keys({{preset("baseline"), {}}, {preset("m4-per-channel"), {}}}),
                 sorted({"name", "quant.optim_m.bits"}));
        // Identical recipes: nothing differs.
        QVERIFY(differing_keys({{preset("w8a8g8"), {}}, {preset("w8a8g8"), {}}}).empty());

        // The model's diff-only rows are those keys, with the baseline's column first.
        ConfigDiffModel model;
        model.setRuns({{QStringLiteral("w8a8g8"), {preset("w8a8g8"), {}}},
                       {QStringLiteral("baseline"), {preset("baseline"), {}}}},
                      1);
        QCOMPARE(model.rowCount(), static_cast<int>(config::recipe_fields().size()));
        model.setDiffOnly(true);
        QStringList keys;
        for (int row = 0; row < model.rowCount(); ++row) {
            keys << model.key(row);
        }
        QCOMPARE(keys,
                 (QStringList{QStringLiteral("name"),
                              QStringLiteral("quant.weight.bits"),
                              QStringLiteral("quant.activation.bits"),
                              QStringLiteral("quant.grad_output.bits")}));
        QCOMPARE(model.headerData(0, Qt::Horizontal, Qt::DisplayRole).toString(),
                 QStringLiteral("baseline (baseline)"));
        QVERIFY(model.index(0, 0).data(Qt::FontRole).value<QFont>().bold());
        QVERIFY(!model.index(0, 1).data(Qt::FontRole).value<QFont>().bold());
        // quant.weight.bits: 32 in the baseline (off), 8 in w8a8g8.
        QCOMPARE(model.index(1, 0).data().toString(), QStringLiteral("32"));
        QCOMPARE(model.index(1, 1).data().toString(), QStringLiteral("8"));
        // The tooltip is the schema's doc of the key.
        QCOMPARE(model.index(1, 0).data(Qt::ToolTipRole).toString(),
                 QString::fromStdString(config::find_field("quant.weight.bits")->doc));
    }

    void oneKeyChangedDiffersInThatKeyAlone() {
        const config::Recipe base = preset("baseline");
        int checked = 0;
        for (const config::FieldSpec& field : config::recipe_fields()) {
            config::Recipe other = base;
            field.set(other, changed(field, field.get(base)));
            QCOMPARE(differing_keys({{base, {}}, {other, {}}}),
                     QStringList{QString::fromStdString(field.path)});
            ++checked;
        }
        QCOMPARE(checked, static_cast<int>(config::recipe_fields().size()));
    }

    void resultsAndDifferencesEqualSqlOverTheScalars() {
        RunsModel runs;
        WorkspaceWorker worker(root_);
        connect(&worker, &WorkspaceWorker::runsRead, &runs, &RunsModel::setRuns);
        worker.open(0);
        CompareView view(&runs);
        view.setWorkspace(root_);
        view.setSourceGroup(QStringLiteral("sweep-a"));
        // The oldest run is the default baseline.
        QCOMPARE(view.baseline(), baseline_runs_.front());
        view.setBaseline(w8_runs_[1]);
        const RunResultsModel& model = *view.results();
        QCOMPARE(model.rowCount(), 8);
        QCOMPARE(
            model.index(0, RunResultsModel::kRun).data(RunResultsModel::kRunIdRole).toLongLong(),
            w8_runs_[1]);
        int better = 0, worse = 0;
        for (int row = 0; row < model.rowCount(); ++row) {
            const int64_t run = model.index(row, 0).data(RunResultsModel::kRunIdRole).toLongLong();
            for (int column = RunResultsModel::kFinalVal; column < RunResultsModel::kColumnCount;
                 ++column) {
                const char* key =
                    column >= RunResultsModel::kFinalTrain ? "train/loss" : "val/loss";
                const bool best = RunResultsModel::isBest(column);
                const auto own = queryNumber(root_, best ? bestSql(run, key) : finalSql(run, key));
                const auto base = queryNumber(
                    root_, best ? bestSql(w8_runs_[1], key) : finalSql(w8_runs_[1], key));
                const QVariant shown = model.index(row, column).data(RunResultsModel::kValueRole);
                if (!RunResultsModel::isDelta(column)) {
                    // A NULL final value (a diverged run's NaN) shows as NaN.
                    if (!own) {
                        QVERIFY(std::isnan(shown.toDouble()));
                    } else {
                        QVERIFY2(
                            std::abs(shown.toDouble() - *own) < kTolerance,
                            qPrintable(QStringLiteral("row %1 column %2").arg(row).arg(column)));
                    }
                    continue;
                }
                if (row == 0 || !own || !base) {
                    QVERIFY(!shown.isValid());
                    continue;
                }
                const double delta = *own - *base;
                QVERIFY(std::abs(shown.toDouble() - delta) < kTolerance);
                const QVariant colour = model.index(row, column).data(Qt::ForegroundRole);
                if (delta < 0) {  // a lower loss than the baseline's
                    QCOMPARE(colour.value<QColor>(), RunResultsModel::kBetter);
                    ++better;
                } else if (delta > 0) {
                    QCOMPARE(colour.value<QColor>(), RunResultsModel::kWorse);
                    ++worse;
                }
            }
        }
        // w8 seed 2 is the baseline: the baseline configuration's runs do better, W4 worse.
        QVERIFY(better > 0);
        QVERIFY(worse > 0);
    }

    void seedAggregatesEqualLowbitRunsAggregateAndSql() {
        RunsModel runs;
        WorkspaceWorker worker(root_);
        connect(&worker, &WorkspaceWorker::runsRead, &runs, &RunsModel::setRuns);
        worker.open(0);
        CompareView view(&runs);
        view.setWorkspace(root_);
        view.setSourceGroup(QStringLiteral("sweep-a"));

        // What `lowbit runs aggregate --group sweep-a` prints.
        store::Workspace workspace =
            store::Workspace::open(root_.toStdString(), store::OpenMode::kReadOnly);
        store::RunReader reader(workspace);
        std::vector<store::RunRecord> sweep;
        for (const store::RunRecord& run : reader.list_runs()) {
            if (run.group_name == "sweep-a") {
                sweep.push_back(run);
            }
        }
        const auto expected = store::aggregate_over_seeds(reader, sweep);
        const SeedGroupsModel& model = *view.seedGroups();
        QCOMPARE(model.rowCount(), 3);
        QCOMPARE(static_cast<int>(expected.size()), 3);
        const std::vector<std::vector<int64_t>> configurations = {
            baseline_runs_, w8_runs_, w4_runs_};
        const QStringList labels = {
            QStringLiteral("baseline"), QStringLiteral("w8"), QStringLiteral("w4")};
        for (int row = 0; row < 3; ++row) {
            const auto r = static_cast<size_t>(row);
            QCOMPARE(model.index(row, SeedGroupsModel::kGroup).data().toString(), labels[row]);
            QCOMPARE(QString::fromStdString(expected[r].label), labels[row]);
            const double mean = model.index(row, SeedGroupsModel::kMeanValLoss)
                                    .data(SeedGroupsModel::kValueRole)
                                    .toDouble();
            QVERIFY(std::abs(mean - *expected[r].mean_val_loss) < kTolerance);
            QVERIFY(std::abs(mean - *queryNumber(root_, meanSql(configurations[r]))) < kTolerance);
            const QVariant sd =
                model.index(row, SeedGroupsModel::kSdValLoss).data(SeedGroupsModel::kValueRole);
            const auto variance = queryNumber(root_, varianceSql(configurations[r]));
            if (row == 2) {
                // W4: one completed run, no sample sd; the other diverged.
                QVERIFY(!sd.isValid());
                QVERIFY(!expected[r].sd_val_loss);
                QCOMPARE(model.index(row, SeedGroupsModel::kDiverged).data().toInt(), 1);
                QCOMPARE(model.index(row, SeedGroupsModel::kWithValLoss).data().toInt(), 1);
            } else {
                QVERIFY(std::abs(sd.toDouble() - *expected[r].sd_val_loss) < kTolerance);
                QVERIFY(std::abs(sd.toDouble() - std::sqrt(*variance)) < 1e-7);
                QCOMPARE(model.index(row, SeedGroupsModel::kWithValLoss).data().toInt(), 3);
            }
        }

        // Grouped by a recipe key: the same arithmetic over quant.weight.bits' groups.
        view.setGrouping(QStringLiteral("quant.weight.bits"));
        QCOMPARE(model.rowCount(), 3);
        QCOMPARE(model.index(0, SeedGroupsModel::kGroup).data().toString(),
                 QStringLiteral("quant.weight.bits=32"));
        QCOMPARE(model.index(1, SeedGroupsModel::kGroup).data().toString(),
                 QStringLiteral("quant.weight.bits=8"));
        for (int row = 0; row < 2; ++row) {
            const double mean = model.index(row, SeedGroupsModel::kMeanValLoss)
                                    .data(SeedGroupsModel::kValueRole)
                                    .toDouble();
            QVERIFY(std::abs(mean - *queryNumber(root_, meanSql(configurations[size_t(row)]))) <
                    kTolerance);
        }
        // Grouped by sweep group: the eight runs form one group, its seven completed ones averaged.
        view.setGrouping(QString::fromLatin1(kGroupBySweep));
        QCOMPARE(model.rowCount(), 1);
        QCOMPARE(model.index(0, SeedGroupsModel::kRuns).data().toInt(), 8);
        std::vector<int64_t> all = baseline_runs_;
        all.insert(all.end(), w8_runs_.begin(), w8_runs_.end());
        all.insert(all.end(), w4_runs_.begin(), w4_runs_.end());
        QVERIFY(std::abs(model.index(0, SeedGroupsModel::kMeanValLoss)
                             .data(SeedGroupsModel::kValueRole)
                             .toDouble() -
                         *queryNumber(root_, meanSql(all))) < kTolerance);
    }

    void groupCurveMatchesHandWorkedValues() {
        // Members A (1: 1, 2: 2, 3: 4), B (1: 3, 2: 4), C (1: 5, 2: 9, 3: NaN).
        const std::vector<StepSeries> members = {
            {{1, 1.0}, {2, 2.0}, {3, 4.0}},
            {{1, 3.0}, {2, 4.0}},
            {{1, 5.0}, {2, 9.0}, {3, std::numeric_limits<double>::quiet_NaN()}}};
        // Step 1: {1, 3, 5}: mean 3, median 3, sd sqrt((4 + 0 + 4) / 2) = 2, SEM 2 / sqrt(3).
        // Step 2: {2, 4, 9}: mean 5, median 4, sd sqrt((9 + 1 + 16) / 2) = sqrt(13),
        //         SEM sqrt(13 / 3).
        // Step 3: {4} (C's NaN left out): n 1, no sd: the ±sd band has no width.
        const auto mean_sd = group_curve(members, GroupCentre::kMean, GroupBand::kStdDev);
        QCOMPARE(mean_sd.size(), size_t(3));
        QCOMPARE(mean_sd[0].n, 3);
        QVERIFY(std::abs(mean_sd[0].centre - 3.0) < kTolerance);
        QVERIFY(std::abs(mean_sd[0].lo - 1.0) < kTolerance);
        QVERIFY(std::abs(mean_sd[0].hi - 5.0) < kTolerance);
        QVERIFY(std::abs(mean_sd[1].centre - 5.0) < kTolerance);
        QVERIFY(std::abs(mean_sd[1].hi - (5.0 + std::sqrt(13.0))) < kTolerance);
        QCOMPARE(mean_sd[2].n, 1);
        QCOMPARE(mean_sd[2].step, int64_t(3));
        QVERIFY(mean_sd[2].lo == 4.0 && mean_sd[2].hi == 4.0);

        const auto median_sem = group_curve(members, GroupCentre::kMedian, GroupBand::kStdError);
        QVERIFY(std::abs(median_sem[1].centre - 4.0) < kTolerance);
        QVERIFY(std::abs(median_sem[0].hi - (3.0 + 2.0 / std::sqrt(3.0))) < kTolerance);
        QVERIFY(std::abs(median_sem[1].lo - (4.0 - std::sqrt(13.0 / 3.0))) < kTolerance);

        const auto min_max = group_curve(members, GroupCentre::kMean, GroupBand::kMinMax);
        QVERIFY(min_max[1].lo == 2.0 && min_max[1].hi == 9.0);
        // An even count: the median is the middle pair's mean ({1, 2, 4, 10} -> 3).
        const double even[] = {10.0, 1.0, 4.0, 2.0};
        QVERIFY(std::abs(sample_stats(even).median - 3.0) < kTolerance);
    }

    void groupPlotDrawsMeanPerStepAndTogglesMembers() {
        RunsModel runs;
        WorkspaceWorker worker(root_);
        connect(&worker, &WorkspaceWorker::runsRead, &runs, &RunsModel::setRuns);
        worker.open(0);
        CompareView view(&runs);
        view.setWorkspace(root_);
        view.setSmoothing(0);
        view.setSourceGroup(QStringLiteral("sweep-a"));
        view.setKey(QStringLiteral("train/loss"));
        QCOMPARE(view.curves()->key(), QStringLiteral("train/loss"));
        QCOMPARE(static_cast<int>(view.curves()->chartData().runs.size()), 8);
        // The baseline configuration's centre line: the SQL mean of its three runs per step.
        QCPGraph* centre = nullptr;
        int members = 0;
        for (int i = 0; i < view.groupPlot()->graphCount(); ++i) {
            QCPGraph* graph = view.groupPlot()->graph(i);
            if (graph->property("role").toString() == QLatin1String("centre") && !centre) {
                centre = graph;
            }
            members += graph->property("role").toString() == QLatin1String("member") ? 1 : 0;
        }
        QVERIFY(centre != nullptr);
        QCOMPARE(members, 8);
        QCOMPARE(centre->data()->size(), 40);
        for (int step : {1, 17, 40}) {
            const auto expected = queryNumber(
                root_,
                "SELECT AVG(value) FROM scalars WHERE key = 'train/loss' AND step = " +
                    std::to_string(step) + " AND run_id IN (" + idList(baseline_runs_) + ")");
            const auto at = centre->data()->findBegin(step, false);
            QCOMPARE(at->key, double(step));
            QVERIFY(std::abs(at->value - *expected) < kTolerance);
        }
        view.setShowMembers(false);
        for (int i = 0; i < view.groupPlot()->graphCount(); ++i) {
            QVERIFY(view.groupPlot()->graph(i)->property("role").toString() !=
                    QLatin1String("member"));
        }
        // Three groups, each a centre line and two band edges.
        QCOMPARE(view.groupPlot()->graphCount(), 9);
        QCOMPARE(view.groupCurves().size(), size_t(3));
    }

    void unreadableRecipeShowsWhyAndNothingBreaks() {
        RunsModel runs;
        WorkspaceWorker worker(root_);
        connect(&worker, &WorkspaceWorker::runsRead, &runs, &RunsModel::setRuns);
        worker.open(0);
        CompareView view(&runs);
        view.setWorkspace(root_);
        view.setSourceGroup(QStringLiteral("broken"));
        QCOMPARE(view.runIds().size(), size_t(2));
        const QString message = view.message();
        QVERIFY2(message.contains(QStringLiteral("not-json")), qPrintable(message));
        QVERIFY2(message.contains(QStringLiteral("bad-lr")), qPrintable(message));
        // The bad value's message names its key.
        QVERIFY2(message.contains(QStringLiteral("train.lr")), qPrintable(message));
        const ConfigDiffModel& diff = *view.configDiff();
        QCOMPARE(diff.columnCount(), 2);
        view.configDiff()->setDiffOnly(false);  // every key (the view starts with differences only)
        for (int column = 0; column < 2; ++column) {
            QCOMPARE(diff.index(0, column).data().toString(), QStringLiteral("recipe unreadable"));
            QVERIFY(!diff.index(0, column).data(Qt::ToolTipRole).toString().isEmpty());
        }
        // Nothing readable to compare: no key differs.
        view.configDiff()->setDiffOnly(true);
        QCOMPARE(diff.rowCount(), 0);
        // Grouped by a recipe key, the two runs form the "unreadable" group.
        view.setGrouping(QStringLiteral("train.lr"));
        QCOMPARE(view.seedGroups()->rowCount(), 1);
        QCOMPARE(view.seedGroups()->index(0, SeedGroupsModel::kGroup).data().toString(),
                 QStringLiteral("(recipe unreadable)"));
        // The workspace is untouched: both runs still hold their recipes as written.
        QCOMPARE(*queryNumber(root_,
                              "SELECT COUNT(*) FROM runs WHERE recipe_json = '{\"train\": {' "
                              "AND id = " +
                                  std::to_string(not_json_)),
                 1.0);
    }

private:
    QTemporaryDir dir_;
    QString root_;
    std::vector<int64_t> baseline_runs_;
    std::vector<int64_t> w8_runs_;
    std::vector<int64_t> w4_runs_;
    int64_t not_json_ = 0;
    int64_t bad_value_ = 0;
};

QTEST_MAIN(CompareViewTest)
#include "compare_view_test.moc"
