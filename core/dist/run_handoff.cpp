// run_handoff (see run_handoff.h): one JSON object per run start, {"error": ...} for a failure.
#include "lowbit/dist/run_handoff.h"

namespace lowbit::dist {

void post_run_start(World& world, const std::string& key, const nlohmann::json& content) {
    world.publish(key, content.dump());
}

void post_run_failure(World& world, const std::string& key, const std::string& error) {
    world.publish(key, nlohmann::json{{"error", error}}.dump());
}

nlohmann::json fetch_run_start(World& world, const std::string& key) {
    nlohmann::json content = nlohmann::json::parse(world.fetch(key));
    if (content.contains("error")) {
        throw DistributedError(
            "rank " + std::to_string(world.rank()) +
            ": rank 0 could not start the run: " + content["error"].get<std::string>());
    }
    return content;
}

}  // namespace lowbit::dist
