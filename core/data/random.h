// Portable random draws on top of std::mt19937_64, whose raw output the standard fixes exactly;
// the std:: distributions are implementation-defined, so corpora would differ between standard
// libraries. Private to lowbit_data.
#pragma once

#include <cstdint>
#include <random>

namespace lowbit::data {

// Uniform double in [0, 1) from the top 53 bits of one draw.
inline double uniform01(std::mt19937_64& rng) {
    return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

// Uniform integer in [0, n), n > 0, without modulo bias (rejects the short top range).
inline uint64_t uniform_below(std::mt19937_64& rng, uint64_t n) {
    const uint64_t threshold = (0 - n) % n;  // 2^64 mod n
    while (true) {
        const uint64_t x = rng();
        if (x >= threshold) {
            return x % n;
        }
    }
}

// The splitmix64 finaliser: a bijective mix with full avalanche, used for seeds and counter
// based hashing.
inline uint64_t mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

}  // namespace lowbit::data
