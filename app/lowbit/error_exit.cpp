// Error reporting of the CLI: one line "lowbit: error: ..." on stderr and the exit code that
// tells bad input (2) from a runtime failure (1).
#include "lowbit/config/recipe_yaml.h"
#include "lowbit/data/data_error.h"
#include "lowbit/io/safetensors.h"
#include "lowbit/store/workspace.h"
#include "lowbit/util/exit_codes.h"

#include <cstdio>

#include "commands.h"

namespace lowbit::app {

int error_exit(const std::exception& error) {
    std::fprintf(stderr, "lowbit: error: %s\n", error.what());
    if (dynamic_cast<const config::RecipeError*>(&error) != nullptr ||
        dynamic_cast<const data::DataError*>(&error) != nullptr ||
        dynamic_cast<const util::BadInput*>(&error) != nullptr ||
        dynamic_cast<const io::FormatError*>(&error) != nullptr) {
        return util::kExitBadInput;
    }
    if (const auto* store_error = dynamic_cast<const store::StoreError*>(&error)) {
        return store_error->is_bad_input() ? util::kExitBadInput : util::kExitFailure;
    }
    return util::kExitFailure;
}

}  // namespace lowbit::app
