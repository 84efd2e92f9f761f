// AutocastGuard: enables bf16 autocast on the given device type for its scope (precision: bf16),
// restoring the previous state after. fp32 runs construct it disabled and it does nothing.
#pragma once

#include <ATen/autocast_mode.h>

namespace lowbit::util {

class AutocastGuard {
public:
    AutocastGuard(c10::DeviceType device_type, bool enabled)
        : device_type_(device_type),
          was_enabled_(at::autocast::is_autocast_enabled(device_type)),
          previous_dtype_(at::autocast::get_autocast_dtype(device_type)),
          enabled_(enabled) {
        if (enabled_) {
            at::autocast::set_autocast_dtype(device_type_, at::kBFloat16);
            at::autocast::set_autocast_enabled(device_type_, true);
        }
    }

    ~AutocastGuard() {
        if (enabled_) {
            at::autocast::set_autocast_enabled(device_type_, was_enabled_);
            at::autocast::set_autocast_dtype(device_type_, previous_dtype_);
            at::autocast::clear_cache();
        }
    }

    AutocastGuard(const AutocastGuard&) = delete;
    AutocastGuard& operator=(const AutocastGuard&) = delete;

private:
    c10::DeviceType device_type_;
    bool was_enabled_;
    at::ScalarType previous_dtype_;
    bool enabled_;
};

}  // namespace lowbit::util
