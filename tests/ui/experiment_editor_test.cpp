// The experiment editor, offscreen: every compiled-in preset round-trips form -> YAML -> form
// unchanged (and its YAML parses back into the recipe lowbit_config reads from the preset file);
// the YAML view drives the form; an invalid field shows, at that field, the exact text
// lowbit_config's load_recipe_file gives for the same YAML written to the same file (what
// `lowbit recipe check` prints after "lowbit: error: "), and, with LOWBIT_ENGINE_BINARY set, the
// real CLI's stderr; the footprint matches hand-counted parameters and the stored-state sizes of
// the presets README (m and v sizes of the tiny GPT-2 in fp32, m8 and m4 per channel).
#include "editor/experiment_editor.h"

#include "lowbit/config/recipe_yaml.h"

#include <QComboBox>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProcess>
#include <QSignalSpy>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include "controllers/run_launcher.h"
#include "editor/recipe_form.h"
#include "main_window.h"
#include "widgets/run_browser.h"

using namespace lowbit;
using namespace lowbit::ui;

namespace {

QString writeFile(const QString& path, const QByteArray& text) {
    QFile file(path);
    if (file.open(QIODevice::WriteOnly)) {
        file.write(text);
    }
    return path;
}

// lowbit_config's message for the recipe file, as `lowbit recipe check` prints it after
// "lowbit: error: "; empty when the file is valid.
QString configMessage(const QString& path) {
    try {
        config::load_recipe_file(path.toStdString());
    } catch (const config::RecipeError& error) {
        return QString::fromStdString(error.what());
    }
    return {};
}

struct InvalidEdit {
    const char* key;                  // the field edited
    const char* value;                // as typed or chosen
    const char* shown;                // the field the message is shown at
    const char* first_key = nullptr;  // an edit made before it, if any
    const char* first_value = nullptr;
};

// A range error, an out-of-range bit-width choice of the matrix, an unparsable number, and rules
// across keys (heads must divide d_model; per_group needs a group_size dividing the width).
const InvalidEdit kInvalidEdits[] = {
    {"train.lr", "-0.5", "train.lr"},
    {"train.steps", "lots", "train.steps"},
    {"model.heads", "3", "model.d_model"},  // lowbit_config locates the rule at d_model
    {"quant.weight.group_size",
     "96",
     "quant.weight.group_size",
     "quant.weight.granularity",
     "per_group"},
    {"quant.optim_m.group_size", "0", "quant.optim_m.group_size"},
    {"telemetry.bins", "0", "telemetry.bins"},
};

}  // namespace

class ExperimentEditorTest : public QObject {
    Q_OBJECT

private Q_SLOTS:

    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);  // QSettings of the main window stay out of ~
        QVERIFY(dir_.isValid());
    }

    void everyPresetRoundTrips() {
        const QStringList presets = ExperimentEditor::presets();
        // resources/presets/pretrain holds 19 configurations per family plus the baselines.
        QVERIFY2(presets.size() >= 38, qPrintable(QString::number(presets.size())));
        ExperimentEditor editor;
        RecipeForm other;
        for (const QString& preset : presets) {
            // The recipe lowbit_config reads from the preset file itself.
            const QString copy = dir_.filePath(QStringLiteral("preset.yaml"));
            QFile::remove(copy);
            QVERIFY(QFile::copy(preset, copy));
            const config::Recipe expected = config::load_recipe_file(copy.toStdString());

            QVERIFY2(editor.loadRecipeFile(preset), qPrintable(preset + editor.message()));
            QVERIFY2(*editor.recipe() == expected, qPrintable(preset));
            const FormValues before = editor.form()->values();
            const std::string yaml = editor.form()->yaml();
            // form -> YAML: the same recipe ...
            QVERIFY2(config::parse_recipe_yaml(yaml, "form") == expected, qPrintable(preset));
            // ... and YAML -> form: the same values, in a fresh form and through the YAML view.
            other.setRecipe(config::parse_recipe_yaml(yaml, "form"));
            QVERIFY2(other.values() == before, qPrintable(preset));
            editor.yamlView()->setPlainText(QString::fromStdString(yaml));
            editor.syncFromYaml();
            QVERIFY2(editor.message().isEmpty(), qPrintable(editor.message()));
            QVERIFY2(editor.form()->values() == before, qPrintable(preset));
        }
    }

    void matrixOffersTheFormatTablesGranularities() {
        // kernels/quant_format.h: per_channel and per_block are not for activations, per_token
        // and per_position only for activations and output gradients.
        RecipeForm form;
        const auto choices = [&form](const char* path) {
            QStringList items;
            auto* combo = qobject_cast<QComboBox*>(form.editorOf(path));
            for (int i = 0; combo && i < combo->count(); ++i) {
                items << combo->itemText(i);
            }
            return items;
        };
        QCOMPARE(choices("quant.weight.granularity"),
                 (QStringList{"per_tensor", "per_channel", "per_group"}));
        QCOMPARE(choices("quant.activation.granularity"),
                 (QStringList{"per_tensor", "per_token", "per_group", "per_position"}));
        QCOMPARE(choices("quant.grad_output.granularity"), choices("quant.activation.granularity"));
        QCOMPARE(choices("quant.optim_v.granularity"),
                 (QStringList{"per_tensor", "per_channel", "per_block", "per_group"}));
        QCOMPARE(choices("quant.optim_m.bits").last(), QStringLiteral("32"));
    }

    void yamlViewDrivesTheForm() {
        ExperimentEditor editor;
        QVERIFY(
            editor.loadRecipeFile(QStringLiteral(":/lowbit/presets/pretrain/gpt2/w8a8g8.yaml")));
        QString text = editor.yamlView()->toPlainText();
        text.replace(QStringLiteral("layers: 4"), QStringLiteral("layers: 6"));
        editor.yamlView()->setPlainText(text);
        editor.syncFromYaml();
        QCOMPARE(editor.form()->values().at("model.layers"), std::string("6"));
        // And the form drives the YAML view.
        QVERIFY(editor.form()->setValueText("quant.optim_m.bits", QStringLiteral("4")));
        editor.syncFromForm();
        QCOMPARE(editor.recipe()->quant.optim_m.bits, 4);
        QVERIFY(editor.yamlView()->toPlainText().contains(QStringLiteral("optim_m:\n    bits: 4")));
    }

    void overridesScopeAndBackwardRoundTrip() {
        ExperimentEditor editor;
        QVERIFY(
            editor.loadRecipeFile(QStringLiteral(":/lowbit/presets/pretrain/gpt2/w8a8g8.yaml")));
        QVERIFY(editor.form()->setValueText(
            "quant.overrides", QStringLiteral("[{layers: \"blocks.0.*\", weight: {bits: 4}}]")));
        QVERIFY(editor.form()->setValueText("quant.scope", QStringLiteral("[fc1, fc2]")));
        QVERIFY(editor.form()->setValueText("quant.backward", QStringLiteral("switchback")));
        QVERIFY(editor.form()->setValueText("quant.optim_v_mapping", QStringLiteral("sqrt")));
        editor.syncFromForm();
        QVERIFY2(editor.recipe().has_value(), qPrintable(editor.message()));
        const config::QuantSpec& q = editor.recipe()->quant;
        QCOMPARE(q.overrides.size(), std::size_t{1});
        QCOMPARE(q.overrides[0].layers, std::string("blocks.0.*"));
        QVERIFY(q.overrides[0].weight.has_value() && !q.overrides[0].activation.has_value());
        QCOMPARE(q.overrides[0].weight->bits, 4);
        QCOMPARE(q.scope, (std::vector<std::string>{"fc1", "fc2"}));
        QVERIFY(q.backward == config::BackwardMode::kSwitchback);
        QVERIFY(q.optim_v_mapping == config::SecondMomentMapping::kSqrt);
        // Typed text is read as YAML ("[fc1, fc2]"); a form filled from the recipe shows it in
        // canonical form, and that form's YAML is the same recipe again.
        RecipeForm other;
        other.setRecipe(config::parse_recipe_yaml(editor.form()->yaml(), "form"));
        QCOMPARE(other.values().at("quant.scope"), std::string("[\"fc1\", \"fc2\"]"));
        QVERIFY(config::parse_recipe_yaml(other.yaml(), "form") == *editor.recipe());
        // Stored weights: fc1 and fc2 as 8-bit codes with one fp32 scale per output row
        // (fc1 512 rows, fc2 128), everything else in fp32 (834,304 parameters in all; the
        // per-layer override is not counted).
        const int64_t quantized = 4 * ((65536 + 512 * 4) + (65536 + 128 * 4));
        const int64_t fp32 = 4 * (834304 - 4 * 2 * 65536);
        QCOMPARE(editor.footprint().weight_bytes_quantized, quantized + fp32);
    }

    void invalidFieldShowsTheConfigMessageAtTheField() {
        for (const InvalidEdit& edit : kInvalidEdits) {
            const QString file = dir_.filePath(QStringLiteral("edited.yaml"));
            ExperimentEditor editor;
            editor.setSourcePath(file);
            QVERIFY(editor.loadRecipeFile(
                QStringLiteral(":/lowbit/presets/pretrain/gpt2/baseline.yaml")));
            editor.setSourcePath(file);
            if (edit.first_key != nullptr) {
                QVERIFY(editor.form()->setValueText(edit.first_key,
                                                    QString::fromLatin1(edit.first_value)));
            }
            QVERIFY2(editor.form()->setValueText(edit.key, QString::fromLatin1(edit.value)),
                     edit.key);
            editor.syncFromForm();
            QVERIFY2(!editor.recipe().has_value(), edit.key);
            writeFile(file, editor.form()->yaml().c_str());
            const QString expected = configMessage(file);
            QVERIFY2(!expected.isEmpty(), edit.key);
            QCOMPARE(editor.message(), expected);
            QCOMPARE(editor.form()->errorAt(edit.shown), expected);
            QVERIFY2(expected.contains(QString::fromLatin1(edit.shown)), qPrintable(expected));
            // The YAML view shows the same text, so it reports the same message.
            QCOMPARE(editor.yamlView()->toPlainText().toStdString(), editor.form()->yaml());
        }
    }

    void invalidFieldMatchesTheCli() {
        const QString engine = qEnvironmentVariable("LOWBIT_ENGINE_BINARY");
        QVERIFY2(QFileInfo(engine).isExecutable(),
                 "LOWBIT_ENGINE_BINARY must name the lowbit executable");
        for (const InvalidEdit& edit : kInvalidEdits) {
            const QString file = dir_.filePath(QStringLiteral("cli.yaml"));
            ExperimentEditor editor;
            QVERIFY(editor.loadRecipeFile(
                QStringLiteral(":/lowbit/presets/pretrain/gpt2/baseline.yaml")));
            editor.setSourcePath(file);
            if (edit.first_key != nullptr) {
                QVERIFY(editor.form()->setValueText(edit.first_key,
                                                    QString::fromLatin1(edit.first_value)));
            }
            QVERIFY(editor.form()->setValueText(edit.key, QString::fromLatin1(edit.value)));
            editor.syncFromForm();
            writeFile(file, editor.form()->yaml().c_str());
            QProcess cli;
            cli.start(engine, {QStringLiteral("recipe"), QStringLiteral("check"), file});
            QVERIFY(cli.waitForFinished(60000));
            QCOMPARE(cli.exitCode(), 2);
            QCOMPARE(QString::fromUtf8(cli.readAllStandardError()),
                     QStringLiteral("lowbit: error: %1\n").arg(editor.form()->errorAt(edit.shown)));
        }
    }

    void beforeLaunchSaysWhichScalesSpanOnlyEachRanksRows() {
        ExperimentEditor editor;
        auto* footprint = editor.findChild<QLabel*>(QStringLiteral("footprint"));
        QVERIFY(footprint != nullptr);
        QVERIFY(editor.loadRecipeFile(
            QStringLiteral(":/lowbit/presets/pretrain/gpt2/a8-per-tensor.yaml")));
        QVERIFY2(footprint->text().contains(
                     QStringLiteral("On several ranks: activation per_tensor scales span only "
                                    "each rank's rows")),
                 qPrintable(footprint->text()));
        QVERIFY(editor.loadRecipeFile(
            QStringLiteral(":/lowbit/presets/pretrain/gpt2/g8-per-tensor.yaml")));
        QVERIFY2(footprint->text().contains(QStringLiteral("grad_output per_tensor")),
                 qPrintable(footprint->text()));
        // Per-token scales belong to one row each.
        QVERIFY(
            editor.loadRecipeFile(QStringLiteral(":/lowbit/presets/pretrain/gpt2/w8a8g8.yaml")));
        QVERIFY2(!footprint->text().contains(QStringLiteral("several ranks")),
                 qPrintable(footprint->text()));
    }

    void footprintOfTheTinyGpt2() {
        ExperimentEditor editor;
        QVERIFY(
            editor.loadRecipeFile(QStringLiteral(":/lowbit/presets/pretrain/gpt2/baseline.yaml")));
        // By hand: token 256x128 + positions 64x128 + final norm 256, and per block (x4) the
        // norms 2x256, qkv 128x384+384, attn_out 128x128+128, fc1 128x512+512, fc2 512x128+128.
        const int64_t block =
            2 * 256 + (128 * 384 + 384) + (128 * 128 + 128) + (128 * 512 + 512) + (512 * 128 + 128);
        const int64_t parameters = 256 * 128 + 64 * 128 + 256 + 4 * block;
        QCOMPARE(editor.footprint().parameters, parameters);
        QCOMPARE(editor.footprint().parameters, int64_t{834304});
        QCOMPARE(editor.footprint().tokens_per_step, int64_t{12 * 64});
        // The presets README: "6.67 MB in fp32, 4.33 MB with m (or v) at 8 bits per channel and
        // 3.94 MB with m at 4 bits".
        QCOMPARE(editor.footprint().optimizer_bytes_fp32, int64_t{8} * parameters);
        QCOMPARE(editor.footprint().optimizer_bytes_quantized,
                 editor.footprint().optimizer_bytes_fp32);
        QCOMPARE(qRound64(editor.footprint().optimizer_bytes_fp32 / 1e4), qint64{667});
        QVERIFY(editor.loadRecipeFile(
            QStringLiteral(":/lowbit/presets/pretrain/gpt2/m8-per-channel.yaml")));
        QCOMPARE(qRound64(editor.footprint().optimizer_bytes_quantized / 1e4), qint64{433});
        // Exactly: 4 blocks of linears (786,432 values) as 1-byte codes with one fp32 scale per
        // row (1,152 rows per block) instead of 4 bytes each.
        QCOMPARE(editor.footprint().optimizer_bytes_quantized,
                 8 * parameters - 4 * 196608 * 4 + 4 * (196608 + 1152 * 4));
        QVERIFY(editor.loadRecipeFile(
            QStringLiteral(":/lowbit/presets/pretrain/gpt2/m4-per-channel.yaml")));
        QCOMPARE(qRound64(editor.footprint().optimizer_bytes_quantized / 1e4), qint64{394});
    }

    void launchWritesTheRecipeAndHandsItOver() {
        ExperimentEditor editor;
        editor.setLaunchFolder(dir_.filePath(QStringLiteral("launches")));
        QVERIFY(
            editor.loadRecipeFile(QStringLiteral(":/lowbit/presets/pretrain/gpt2/w8a8g8.yaml")));
        QSignalSpy spy(&editor, &ExperimentEditor::launchRequested);
        QVERIFY(editor.launch());
        QCOMPARE(spy.size(), 1);
        const QString path = spy.first().first().toString();
        QVERIFY(config::load_recipe_file(path.toStdString()) == *editor.recipe());
        // An invalid recipe is not launched.
        QVERIFY(editor.form()->setValueText("model.heads", QStringLiteral("3")));
        editor.syncFromForm();
        QVERIFY(!editor.launch());
        QCOMPARE(spy.size(), 1);
    }

    void launchFromTheMainWindowReachesTheLauncher() {
        MainWindow window;
        const QString workspace = dir_.filePath(QStringLiteral("ws"));
        window.openWorkspace(workspace);
        ExperimentEditor* editor = window.editor();
        QVERIFY(
            editor->loadRecipeFile(QStringLiteral(":/lowbit/presets/pretrain/gpt2/w8a8g8.yaml")));
        QSignalSpy spy(editor, &ExperimentEditor::launchRequested);
        QVERIFY(editor->launch());
        const QString recipe = spy.first().first().toString();
        QVERIFY(recipe.startsWith(QDir(workspace).filePath(QStringLiteral("studio-recipes/"))));
        QCOMPARE(window.launcher()->launches().size(), 1);
        const Launch& launch = window.launcher()->launches().first();
        QCOMPARE(launch.arguments.mid(0, 2), (QStringList{QStringLiteral("train"), recipe}));
    }

    // The run browser's Resume reaches the launcher, after every workspace change too.
    void resumeFromTheRunBrowserReachesTheLauncher() {
        MainWindow window;
        for (const QString& name : {QStringLiteral("first"), QStringLiteral("second")}) {
            window.openWorkspace(dir_.filePath(name));
            Q_EMIT window.runBrowser()->resumeRequested(7);
            QCOMPARE(window.launcher()->launches().size(), 1);
            QCOMPARE(
                window.launcher()->launches().first().arguments.mid(0, 3),
                (QStringList{
                    QStringLiteral("train"), QStringLiteral("--resume"), QStringLiteral("7")}));
        }
    }

    // The Launch dock's Ranks field applies to the editor's launches too, train and qat alike,
    // after the editor's own options.
    void editorLaunchesTakeTheLaunchDocksRanks() {
        MainWindow window;
        window.openWorkspace(dir_.filePath(QStringLiteral("ranks")));
        auto* ranks = window.findChild<QSpinBox*>(QStringLiteral("ranksPerLaunch"));
        QVERIFY(ranks != nullptr);
        ranks->setValue(1);  // whatever an earlier test left in the settings
        const QString qat = dir_.filePath(QStringLiteral("q.yaml"));
        const QString train = dir_.filePath(QStringLiteral("t.yaml"));
        const QStringList fork{QStringLiteral("--fork"), QStringLiteral("3@10")};
        Q_EMIT window.editor()->qatLaunchRequested(qat);
        ranks->setValue(2);
        Q_EMIT window.editor()->qatLaunchRequested(qat);
        Q_EMIT window.editor()->launchRequested(train, fork);
        const QList<Launch> launches = window.launcher()->launches();
        QCOMPARE(launches.size(), 3);
        QCOMPARE(launches[0].arguments.mid(0, 3),
                 (QStringList{QStringLiteral("qat"), qat, QStringLiteral("--workspace")}));
        const QStringList two{QStringLiteral("--nproc-per-node"), QStringLiteral("2")};
        QCOMPARE(launches[1].arguments.mid(0, 4), (QStringList{QStringLiteral("qat"), qat} + two));
        QCOMPARE(launches[2].arguments.mid(0, 6),
                 (QStringList{QStringLiteral("train"), train} + fork + two));
    }

    void theRanksFieldKeepsItsValueAcrossWorkspacesAndWindows() {
        {
            MainWindow window;
            window.openWorkspace(dir_.filePath(QStringLiteral("first")));
            window.findChild<QSpinBox*>(QStringLiteral("ranksPerLaunch"))->setValue(3);
            // Another workspace rebuilds the Launch dock's panel.
            window.openWorkspace(dir_.filePath(QStringLiteral("second")));
            auto* ranks = window.findChild<QSpinBox*>(QStringLiteral("ranksPerLaunch"));
            QCOMPARE(ranks->value(), 3);
            Q_EMIT window.editor()->launchRequested(dir_.filePath(QStringLiteral("t.yaml")), {});
            QVERIFY(window.launcher()
                        ->launches()
                        .constLast()
                        .arguments.join(QLatin1Char(' '))
                        .contains(QStringLiteral("--nproc-per-node 3")));
        }
        MainWindow next_session;
        next_session.openWorkspace(dir_.filePath(QStringLiteral("first")));
        auto* ranks = next_session.findChild<QSpinBox*>(QStringLiteral("ranksPerLaunch"));
        QCOMPARE(ranks->value(), 3);
        ranks->setValue(1);
    }

private:
    QTemporaryDir dir_;
};

QTEST_MAIN(ExperimentEditorTest)
#include "experiment_editor_test.moc"
