// SHA-256 as specified in FIPS 180-4 section 6.2: 64-byte blocks, big-endian words, 64 rounds.
// The round constants were generated with exact integer cube roots (see the test vectors in
// tests/data/sha256_test.cpp for the check).
#include "lowbit/data/sha256.h"

#include "lowbit/data/data_error.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

namespace lowbit::data {

namespace {

// First 32 bits of the fractional parts of the cube roots of the first 64 primes.
constexpr std::array<uint32_t, 64> kRound = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

// First 32 bits of the fractional parts of the square roots of the first 8 primes.
constexpr std::array<uint32_t, 8> kInitial = {
    0x6a09e667,
    0xbb67ae85,
    0x3c6ef372,
    0xa54ff53a,
    0x510e527f,
    0x9b05688c,
    0x1f83d9ab,
    0x5be0cd19,
};

constexpr uint32_t rotr(uint32_t x, int n) {
    return (x >> n) | (x << (32 - n));
}

constexpr char kHexDigits[] = "0123456789abcdef";

}  // namespace

Sha256::Sha256() : state_(kInitial) {}

void Sha256::compress(const unsigned char* block) {
    std::array<uint32_t, 64> w{};
    for (int t = 0; t < 16; ++t) {
        w[t] = (uint32_t{block[4 * t]} << 24) | (uint32_t{block[4 * t + 1]} << 16) |
               (uint32_t{block[4 * t + 2]} << 8) | uint32_t{block[4 * t + 3]};
    }
    for (int t = 16; t < 64; ++t) {
        const uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        const uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = state_[0], b = state_[1], c = state_[2], d = state_[3];
    uint32_t e = state_[4], f = state_[5], g = state_[6], h = state_[7];
    for (int t = 0; t < 64; ++t) {
        const uint32_t big_s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        const uint32_t choose = (e & f) ^ (~e & g);
        const uint32_t t1 = h + big_s1 + choose + kRound[t] + w[t];
        const uint32_t big_s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
        const uint32_t majority = (a & b) ^ (a & c) ^ (b & c);
        const uint32_t t2 = big_s0 + majority;
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    state_[0] += a;
    state_[1] += b;
    state_[2] += c;
    state_[3] += d;
    state_[4] += e;
    state_[5] += f;
    state_[6] += g;
    state_[7] += h;
}

void Sha256::update(std::span<const unsigned char> bytes) {
    total_bytes_ += bytes.size();
    size_t pos = 0;
    if (buffered_ > 0) {
        const size_t take = std::min(bytes.size(), buffer_.size() - buffered_);
        std::memcpy(buffer_.data() + buffered_, bytes.data(), take);
        buffered_ += take;
        pos = take;
        if (buffered_ < buffer_.size()) {
            return;
        }
        compress(buffer_.data());
        buffered_ = 0;
    }
    // Whole blocks straight from the input, without copying them through the buffer.
    for (; pos + 64 <= bytes.size(); pos += 64) {
        compress(bytes.data() + pos);
    }
    buffered_ = bytes.size() - pos;
    if (buffered_ > 0) {
        std::memcpy(buffer_.data(), bytes.data() + pos, buffered_);
    }
}

void Sha256::update(std::string_view text) {
    update(std::span(reinterpret_cast<const unsigned char*>(text.data()), text.size()));
}

std::array<unsigned char, 32> Sha256::digest() {
    if (!finished_) {
        // Padding: 0x80, zeros up to 56 mod 64, then the message length in bits, big-endian.
        const uint64_t bit_length = total_bytes_ * 8;
        const unsigned char one = 0x80;
        update(std::span(&one, 1));
        const unsigned char zero = 0;
        while (buffered_ != 56) {
            update(std::span(&zero, 1));
        }
        std::array<unsigned char, 8> length{};
        for (int i = 0; i < 8; ++i) {
            length[i] = static_cast<unsigned char>(bit_length >> (56 - 8 * i));
        }
        update(length);
        finished_ = true;
    }
    std::array<unsigned char, 32> out{};
    for (int i = 0; i < 8; ++i) {
        for (int j = 0; j < 4; ++j) {
            out[4 * i + j] = static_cast<unsigned char>(state_[i] >> (24 - 8 * j));
        }
    }
    return out;
}

std::string Sha256::hex_digest() {
    std::string hex;
    hex.reserve(64);
    for (const unsigned char byte : digest()) {
        hex.push_back(kHexDigits[byte >> 4]);
        hex.push_back(kHexDigits[byte & 0xf]);
    }
    return hex;
}

std::string sha256_hex(std::span<const unsigned char> bytes) {
    Sha256 hasher;
    hasher.update(bytes);
    return hasher.hex_digest();
}

std::string sha256_hex(std::string_view text) {
    Sha256 hasher;
    hasher.update(text);
    return hasher.hex_digest();
}

std::string sha256_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw DataError(path.string() + ": cannot open for reading: " + std::strerror(errno));
    }
    Sha256 hasher;
    std::vector<char> chunk(1 << 20);
    while (in) {
        in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        const auto got = static_cast<size_t>(in.gcount());
        if (got > 0) {
            hasher.update(std::span(reinterpret_cast<const unsigned char*>(chunk.data()), got));
        }
    }
    if (in.bad()) {
        throw DataError(path.string() + ": read error while hashing");
    }
    return hasher.hex_digest();
}

}  // namespace lowbit::data
