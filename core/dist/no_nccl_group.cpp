// make_nccl_group (cuda_group.h) in a build without NCCL (LibTorch without CUDA, or nccl.h not
// found): CUDA tensors stay on the Gloo group.
#include <stdexcept>

#include "cuda_group.h"

namespace lowbit::dist {

bool have_nccl() {
    return false;
}

c10::intrusive_ptr<c10d::Backend> make_nccl_group(const c10::intrusive_ptr<c10d::Store>& /*store*/,
                                                  int /*rank*/,
                                                  int /*size*/,
                                                  std::chrono::milliseconds /*timeout*/) {
    throw std::logic_error("this build of lowbit has no NCCL");
}

}  // namespace lowbit::dist
