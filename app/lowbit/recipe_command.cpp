// `lowbit recipe check FILE [--set ...]` and `lowbit recipe defaults`.
#include "lowbit/config/recipe_defaults.h"
#include "lowbit/config/recipe_json.h"
#include "lowbit/config/recipe_yaml.h"
#include "lowbit/data/corpus.h"

#include <cstdio>

#include "commands.h"

namespace lowbit::app {

void add_recipe_command(CLI::App& app, int& exit_code) {
    CLI::App* recipe = app.add_subcommand("recipe", "Validate recipes and print the defaults");
    recipe->require_subcommand(1);

    auto file = std::make_shared<std::string>();
    auto overrides = std::make_shared<std::vector<std::string>>();
    auto as_json = std::make_shared<bool>(false);
    CLI::App* check =
        recipe->add_subcommand("check",
                               "Validate a recipe and that its data files exist; print it with "
                               "defaults filled in");
    check->add_option("file", *file, "Recipe YAML file")->required();
    check->add_option("--set", *overrides, "Override a key: key.path=value (repeatable)");
    check->add_flag("--json", *as_json, "Print the validated recipe as JSON");
    check->callback([file, overrides, as_json, &exit_code] {
        const config::Recipe parsed = config::load_recipe_file(*file, *overrides);
        // What `lowbit train` would refuse before training, with the same message.
        data::check_data_sources(parsed.data);
        if (*as_json) {
            std::printf("%s\n", config::recipe_to_json(parsed).dump(2).c_str());
        } else {
            std::printf("%s: ok\n", file->c_str());
        }
        exit_code = 0;
    });

    CLI::App* defaults =
        recipe->add_subcommand("defaults", "Print a full recipe with every default, commented");
    defaults->callback([&exit_code] {
        std::printf("%s", config::default_recipe_yaml().c_str());
        exit_code = 0;
    });
}

}  // namespace lowbit::app
