// io::FormatError: a file that is not what it claims to be (corrupt safetensors, a Hugging Face
// folder with a missing key or tensor). The message names the file and the key, tensor or byte
// offset. It is a util::BadInput, so the CLI exits with kExitBadInput.
#pragma once

#include "lowbit/util/exit_codes.h"

namespace lowbit::io {

class FormatError : public util::BadInput {
public:
    using util::BadInput::BadInput;
};

}  // namespace lowbit::io
