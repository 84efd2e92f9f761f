// JSON lines of run events: every event kind survives to_json_line -> from_json_line with every
// field; a line written by hand as docs/progress-events.md shows it parses to the documented
// values; NaN travels as null; malformed lines are refused with the field named.
#include "lowbit/events/run_event_json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace lowbit::events {
namespace {

// One event of every kind, every field away from its default.
std::vector<RunEvent> one_of_each() {
    return {
        {600,
         1.5,
         Started{7, "/ws/runs/7", "cuda:0", 123456, 2000, 8192, "/ws/runs/3/ckpt", 3, "runs/3/x"}},
        {40, 2.5, Resumed{7, "/ws/runs/7", "cpu", 123456, 2000, 8192, "runs/7/step-40"}},
        {41, 3.5, Step{2000, 2.25, 3e-4, 0.75, 12.5, 335872, 1.5e5, 90.25, 60.5, true}},
        {50, 4.5, Eval{2.125, 409600, 70.75}},
        {50, 5.5, Checkpoint{"runs/7/model.safetensors", 987654, "ab12cd", "packed_model"}},
        {60, 6.5, Telemetry{45}},
        {64, 6.6, Phase{"e2e_qp", 8, 128, 33.5}},
        {16, 6.7, BlockEpoch{2, 8, 2, 3, 0.0125, 0.015, 5e-6, 5e-7, 4.25, 123456789012, 20.5}},
        {24, 6.8, BlockDone{2, 8, "runs/7/blocks/block-002.safetensors", 4096, "ef34", 8.5, 30.5}},
        {200, 6.9, Perplexity{"test", "/data/test.txt", 3.5, 33.115451958692312, 24576}},
        {2000, 7.5, Completed{}},
        {70, 8.5, Stopped{15}},
        {71, 9.5, Diverged{"gradient norm"}},
        {72, 10.5, Failed{"disk full: runs.sqlite"}},
    };
}

TEST(RunEventJsonTest, EveryKindRoundTripsWithEveryField) {
    const std::vector<RunEvent> events = one_of_each();
    ASSERT_EQ(events.size(), std::variant_size_v<Body>) << "add the new event kind here";
    for (size_t i = 0; i < events.size(); ++i) {
        EXPECT_EQ(events[i].body.index(), i) << "one event per kind, in Body's order";
        const std::string line = to_json_line(events[i]);
        const RunEvent back = from_json_line(line);
        EXPECT_EQ(back.step, events[i].step) << line;
        EXPECT_EQ(back.time, events[i].time) << line;
        EXPECT_EQ(back.body.index(), events[i].body.index()) << line;
        EXPECT_EQ(to_json(back), to_json(events[i])) << line;
        EXPECT_EQ(nlohmann::json::parse(line).at("event"), event_name(events[i].body));
    }
}

TEST(RunEventJsonTest, DocumentedStepLineParsesToItsValues) {
    // The step line of docs/progress-events.md, keys in another order, one unknown key.
    const RunEvent event = from_json_line(
        R"({"event":"step","format":1,"step":41,"time":1764650000.25,"steps":2000,"loss":2.25,)"
        R"("lr":0.0003,"grad_norm":0.75,"weight_norm":12.5,"tokens":335872,)"
        R"("tokens_per_s":150000.0,"eta_s":90.25,"elapsed_s":60.5,"logged":true,"extra":1})");
    ASSERT_TRUE(std::holds_alternative<Step>(event.body));
    const Step& step = std::get<Step>(event.body);
    EXPECT_EQ(event.step, 41);
    EXPECT_EQ(event.time, 1764650000.25);
    EXPECT_EQ(step.steps, 2000);
    EXPECT_EQ(step.loss, 2.25);
    EXPECT_EQ(step.lr, 0.0003);
    EXPECT_EQ(step.tokens, 335872);
    EXPECT_TRUE(step.logged);
}

TEST(RunEventJsonTest, StartedLineWithoutForkFieldsReadsAsNoParent) {
    // A started line as written before forks existed: no parent_run_id, no fork_checkpoint.
    const RunEvent event = from_json_line(
        R"({"event":"started","format":1,"step":0,"time":1.0,"run_id":3,"run_dir":"/ws/runs/3",)"
        R"("device":"cpu","parameters":10,"steps":20,"tokens_per_step":64,"init_from":""})");
    ASSERT_TRUE(std::holds_alternative<Started>(event.body));
    const Started& started = std::get<Started>(event.body);
    EXPECT_EQ(started.run_id, 3);
    EXPECT_EQ(started.parent_run_id, 0);
    EXPECT_EQ(started.fork_checkpoint, "");
}

TEST(RunEventJsonTest, CheckpointLineWithoutKindIsATrainingCheckpoint) {
    // A checkpoint line as written before packed models existed.
    const RunEvent event = from_json_line(
        R"({"event":"checkpoint","format":1,"step":5,"time":1.0,"path":"runs/1/c","bytes":3,)"
        R"("sha256":"00"})");
    ASSERT_TRUE(std::holds_alternative<Checkpoint>(event.body));
    EXPECT_EQ(std::get<Checkpoint>(event.body).kind, "checkpoint");
}

TEST(RunEventJsonTest, NotFiniteNumbersTravelAsNullAndReadBackAsNan) {
    RunEvent event{12, 1.0, Step{}};
    std::get<Step>(event.body).loss = std::nan("");
    std::get<Step>(event.body).weight_norm = INFINITY;
    const std::string line = to_json_line(event);
    EXPECT_NE(line.find("\"loss\":null"), std::string::npos) << line;
    const Step back = std::get<Step>(from_json_line(line).body);
    EXPECT_TRUE(std::isnan(back.loss));
    EXPECT_TRUE(std::isnan(back.weight_norm));
}

TEST(RunEventJsonTest, MalformedLinesAreRefusedNamingWhatIsWrong) {
    auto message_of = [](const std::string& line) {
        try {
            from_json_line(line);
        } catch (const EventFormatError& error) {
            return std::string(error.what());
        }
        return std::string("<accepted>");
    };
    EXPECT_NE(message_of("not json").find("not a JSON line"), std::string::npos);
    EXPECT_NE(message_of(R"({"format":1,"event":"eval","step":3,"time":1})").find("val_loss"),
              std::string::npos);
    EXPECT_NE(message_of(R"({"format":1,"event":"warp","step":3,"time":1})").find("warp"),
              std::string::npos);
    EXPECT_NE(message_of(R"({"format":99,"event":"completed","step":3,"time":1})").find("newer"),
              std::string::npos);
    EXPECT_NE(message_of(R"({"event":"completed","step":3,"time":1})").find("format"),
              std::string::npos);
}

TEST(RunEventJsonTest, OnlyTheFourTerminalKindsEndARun) {
    int terminal = 0;
    for (const RunEvent& event : one_of_each()) {
        terminal += ends_run(event.body) ? 1 : 0;
    }
    EXPECT_EQ(terminal, 4);
    EXPECT_TRUE(ends_run(Failed{}));
    EXPECT_FALSE(ends_run(Checkpoint{}));
}

}  // namespace
}  // namespace lowbit::events
