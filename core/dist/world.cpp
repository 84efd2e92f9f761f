// World on c10d (world.h). The only file that includes ProcessGroupGloo.hpp: its Gloo headers
// come from Debian's libgloo-dev (headers only; the implementation is inside libtorch_cpu.so), so
// the ABI between the two is confined here and checked by tests/dist (docs/distributed.md
// §Process group). CUDA tensors take the NCCL group of cuda_group.h when the build has one.
#include "lowbit/dist/world.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <array>
#include <cstdlib>
#include <exception>
#include <functional>
#include <set>
#include <utility>

#include "cuda_group.h"
#include <unistd.h>

namespace lowbit::dist {

struct World::Backend {
    c10::intrusive_ptr<c10d::Store> store;
    c10::intrusive_ptr<c10d::ProcessGroupGloo> group;  // CPU tensors, and CUDA ones without NCCL
    c10::intrusive_ptr<c10d::Backend> cuda_group;      // NCCL, built at its first collective
    bool cuda_group_chosen = false;  // null cuda_group once chosen: ranks share a GPU, use Gloo
    std::chrono::milliseconds timeout{};
};

namespace {

// c10d's messages end in a C++ stack trace; the first line is what a user can act on.
std::string first_line(const char* text) {
    std::string line(text);
    const auto end = line.find('\n');
    return end == std::string::npos ? line : line.substr(0, end);
}

template <typename Operation>
void guarded(int rank, int size, const std::string& what, Operation&& operation) {
    try {
        operation();
    } catch (const std::exception& e) {
        throw DistributedError("rank " + std::to_string(rank) + " of " + std::to_string(size) +
                               ": " + what +
                               " failed (another rank has probably exited, or the timeout "
                               "passed; see its output): " +
                               first_line(e.what()));
    }
}

bool is_loopback(const std::string& host) {
    return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

// The interface this rank's Gloo pairs listen on: GLOO_SOCKET_IFNAME as in PyTorch, loopback for
// a job whose rank 0 is addressed through loopback (one node), else this host name's address.
std::shared_ptr<::gloo::transport::Device> gloo_device(const LaunchEnvironment& env) {
    if (const char* interface = std::getenv("GLOO_SOCKET_IFNAME");
        interface != nullptr && *interface != '\0') {
        return c10d::ProcessGroupGloo::createDeviceForInterface(interface);
    }
    if (is_loopback(env.master_addr)) {
        return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
    }
    return c10d::ProcessGroupGloo::createDefaultDevice();
}

}  // namespace

World::World() = default;

c10d::Backend& World::group_for(const std::vector<torch::Tensor>& tensors) {
    const bool cuda = tensors.front().is_cuda();
    for (const torch::Tensor& t : tensors) {
        TORCH_CHECK(t.is_cuda() == cuda,
                    "a collective's tensors must all be on the CPU or all on CUDA");
    }
    if (!cuda || !have_nccl()) {
        return *backend_->group;
    }
    if (!backend_->cuda_group_chosen) {
        // Every rank reaches its first CUDA collective at the same point of the same program, so
        // every rank chooses here, together; NCCL connects the ranks on that collective. Errors
        // surface through the collective's guard.
        backend_->cuda_group_chosen = true;
        if (!ranks_share_a_device(tensors.front().device().index())) {
            backend_->cuda_group =
                make_nccl_group(c10::make_intrusive<c10d::PrefixStore>("nccl", backend_->store),
                                rank_,
                                size_,
                                backend_->timeout);
        }
    }
    return backend_->cuda_group ? *backend_->cuda_group : *backend_->group;
}

bool World::ranks_share_a_device(int cuda_device) {
    // (host, device) of every rank, gathered on Gloo: two equal pairs mean two ranks on one GPU,
    // which NCCL refuses (more local ranks than GPUs); CUDA tensors then stay on Gloo.
    std::array<char, 256> host{};
    gethostname(host.data(), host.size() - 1);
    const auto host_key = static_cast<int64_t>(std::hash<std::string>{}(host.data()));
    std::vector<torch::Tensor> mine{torch::tensor({host_key, int64_t{cuda_device}})};
    std::vector<std::vector<torch::Tensor>> all(1);
    for (int r = 0; r < size_; ++r) {
        all[0].push_back(torch::empty({2}, torch::kInt64));
    }
    backend_->group->allgather(all, mine)->wait();
    std::set<std::pair<int64_t, int64_t>> seen;
    for (const torch::Tensor& pair : all[0]) {
        if (!seen.emplace(pair[0].item<int64_t>(), pair[1].item<int64_t>()).second) {
            return true;
        }
    }
    return false;
}

std::string World::group_name_for(const torch::Tensor& sample) {
    return backend_ ? group_for({sample}).getBackendName() : "none";
}

World::~World() {
    if (backend_ && backend_->cuda_group) {
        // NCCL wants its communicators shut down before the process exits (its destructor warns
        // otherwise); after a failed collective the shutdown may fail too, which changes nothing.
        try {
            backend_->cuda_group->shutdown();
        } catch (const std::exception&) {
        }
    }
}

void set_collective_environment() {
    setenv("TORCH_NCCL_BLOCKING_WAIT", "1", /*overwrite=*/0);
}

std::unique_ptr<World> World::join(const LaunchEnvironment& env,
                                   std::chrono::milliseconds timeout) {
    if (!env.distributed()) {
        return std::make_unique<World>();
    }
    return connect(env, timeout);
}

std::unique_ptr<World> World::connect(const LaunchEnvironment& env,
                                      std::chrono::milliseconds timeout) {
    auto world = std::make_unique<World>();
    world->rank_ = env.rank;
    world->size_ = env.world_size;
    auto backend = std::make_unique<Backend>();
    const std::string where = env.master_addr + ":" + std::to_string(env.master_port);
    guarded(env.rank, env.world_size, "rendezvous with rank 0 at " + where, [&] {
        c10d::TCPStoreOptions options;
        options.port = static_cast<std::uint16_t>(env.master_port);
        options.isServer = env.rank == 0 && !env.agent_store;
        // Every rank counts itself in; the server waits until all have.
        options.numWorkers = static_cast<std::size_t>(env.world_size);
        options.timeout = timeout;
        auto tcp = c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
        // Our keys live under their own prefix beside torchrun's.
        backend->store = c10::make_intrusive<c10d::PrefixStore>("lowbit", tcp);
        auto gloo_options = c10d::ProcessGroupGloo::Options::create(timeout);
        gloo_options->devices.push_back(gloo_device(env));
        gloo_options->threads = 1;  // one collective in flight at a time
        backend->group = c10::make_intrusive<c10d::ProcessGroupGloo>(
            backend->store, env.rank, env.world_size, gloo_options);
    });
    backend->timeout = timeout;
    world->backend_ = std::move(backend);
    return world;
}

void World::allreduce_sum(std::vector<torch::Tensor>& tensors) {
    for (const torch::Tensor& t : tensors) {
        allreduce_bytes_ += t.numel() * static_cast<int64_t>(t.element_size());
    }
    allreduce(tensors, /*maximum=*/false);
}

void World::allreduce_max(std::vector<torch::Tensor>& tensors) {
    allreduce(tensors, /*maximum=*/true);
}

bool World::any(bool local) {
    std::vector<torch::Tensor> flag{torch::tensor({local ? 1.0F : 0.0F})};
    allreduce(flag, /*maximum=*/true);
    return flag[0].item<float>() > 0;
}

void World::allreduce(std::vector<torch::Tensor>& tensors, bool maximum) {
    if (!backend_ || tensors.empty()) {
        return;
    }
    guarded(rank_, size_, maximum ? "allreduce (max)" : "allreduce", [&] {
        c10d::AllreduceOptions options;
        options.reduceOp = maximum ? c10d::ReduceOp::MAX : c10d::ReduceOp::SUM;
        group_for(tensors).allreduce(tensors, options)->wait();
    });
}

void World::broadcast(std::vector<torch::Tensor>& tensors, int root) {
    if (!backend_ || tensors.empty()) {
        return;
    }
    guarded(rank_, size_, "broadcast from rank " + std::to_string(root), [&] {
        // c10d broadcasts one tensor per call (a list stands for one tensor per device); one call
        // per tensor keeps mixed dtypes and devices legal.
        for (torch::Tensor& t : tensors) {
            std::vector<torch::Tensor> one{t};
            c10d::BroadcastOptions options;
            options.rootRank = root;
            group_for(one).broadcast(one, options)->wait();
        }
    });
}

void World::alltoall(const torch::Tensor& input, torch::Tensor& output) {
    TORCH_CHECK(input.dim() == 1 && input.numel() % size_ == 0 && input.is_contiguous(),
                "alltoall needs a contiguous 1-D tensor of world-size equal parts");
    if (!backend_) {
        output.copy_(input);
        return;
    }
    guarded(rank_, size_, "all-to-all", [&] {
        // Empty split lists: equal parts.
        torch::Tensor in = input;
        std::vector<int64_t> output_splits;
        std::vector<int64_t> input_splits;
        group_for({in, output}).alltoall_base(output, in, output_splits, input_splits)->wait();
    });
}

void World::allgather(const torch::Tensor& input, torch::Tensor& output) {
    TORCH_CHECK(input.dim() == 1 && output.numel() == input.numel() * size_,
                "allgather needs a 1-D input and an output of world-size times its length");
    if (!backend_) {
        output.copy_(input);
        return;
    }
    guarded(rank_, size_, "allgather", [&] {
        // The group writes each rank's part into the views of `output`.
        std::vector<std::vector<torch::Tensor>> parts(1);
        for (int r = 0; r < size_; ++r) {
            parts[0].push_back(output.narrow(0, r * input.numel(), input.numel()));
        }
        std::vector<torch::Tensor> in{input.contiguous()};
        group_for(in).allgather(parts, in)->wait();
    });
}

std::vector<torch::Tensor> World::gather_bytes_to_writer(const torch::Tensor& bytes) {
    TORCH_CHECK(bytes.dim() == 1 && bytes.scalar_type() == torch::kUInt8,
                "gather_bytes_to_writer takes a 1-D uint8 tensor");
    if (!backend_) {
        return {bytes};
    }
    // Lengths first (rank r fills slot r), then one gather of parts padded to the longest.
    std::vector<torch::Tensor> lengths{torch::zeros({size_}, torch::kInt64)};
    lengths[0][rank_] = bytes.numel();
    allreduce(lengths, /*maximum=*/false);
    const int64_t longest = lengths[0].max().item<int64_t>();
    torch::Tensor padded = torch::zeros({longest}, torch::kUInt8);
    padded.narrow(0, 0, bytes.numel()).copy_(bytes);
    std::vector<torch::Tensor> received;
    guarded(rank_, size_, "gather to rank 0", [&] {
        std::vector<std::vector<torch::Tensor>> outputs;
        if (rank_ == 0) {
            outputs.emplace_back();
            for (int r = 0; r < size_; ++r) {
                outputs[0].push_back(torch::empty({longest}, torch::kUInt8));
            }
        }
        std::vector<torch::Tensor> in{padded};
        c10d::GatherOptions options;
        options.rootRank = 0;
        backend_->group->gather(outputs, in, options)->wait();
        if (rank_ == 0) {
            for (int r = 0; r < size_; ++r) {
                received.push_back(outputs[0][static_cast<std::size_t>(r)].narrow(
                    0, 0, lengths[0][r].item<int64_t>()));
            }
        }
    });
    return received;
}

torch::Tensor World::scatter_bytes_from_writer(const std::vector<torch::Tensor>& parts) {
    TORCH_CHECK(!is_writer() || static_cast<int>(parts.size()) == size_,
                "scatter_bytes_from_writer takes one part per rank on rank 0");
    if (!backend_) {
        return parts.front();
    }
    // Lengths first (a broadcast), then one scatter of parts padded to the longest.
    std::vector<torch::Tensor> lengths{torch::zeros({size_}, torch::kInt64)};
    if (is_writer()) {
        for (int r = 0; r < size_; ++r) {
            const torch::Tensor& part = parts[static_cast<std::size_t>(r)];
            TORCH_CHECK(part.dim() == 1 && part.scalar_type() == torch::kUInt8,
                        "scatter_bytes_from_writer takes 1-D uint8 tensors");
            lengths[0][r] = part.numel();
        }
    }
    broadcast(lengths);
    const int64_t longest = lengths[0].max().item<int64_t>();
    std::vector<torch::Tensor> received{torch::empty({longest}, torch::kUInt8)};
    if (longest == 0) {
        return received[0];
    }
    guarded(rank_, size_, "scatter from rank 0", [&] {
        std::vector<std::vector<torch::Tensor>> inputs;
        if (is_writer()) {
            inputs.emplace_back();
            for (const torch::Tensor& part : parts) {
                torch::Tensor padded = torch::zeros({longest}, torch::kUInt8);
                padded.narrow(0, 0, part.numel()).copy_(part.cpu());
                inputs[0].push_back(padded);
            }
        }
        c10d::ScatterOptions options;
        options.rootRank = 0;
        backend_->group->scatter(received, inputs, options)->wait();
    });
    return received[0].narrow(0, 0, lengths[0][rank_].item<int64_t>());
}

void World::publish(const std::string& key, const std::string& value) {
    if (!backend_) {
        return;
    }
    guarded(rank_, size_, "publishing '" + key + "'", [&] {
        backend_->store->set(key, std::vector<uint8_t>(value.begin(), value.end()));
    });
}

std::string World::fetch(const std::string& key) {
    if (!backend_) {
        return {};
    }
    std::vector<uint8_t> bytes;
    guarded(rank_, size_, "waiting for rank 0's '" + key + "'", [&] {
        bytes = backend_->store->get(key);
    });
    return {bytes.begin(), bytes.end()};
}

}  // namespace lowbit::dist
