// Tests make their scratch folders as <temp>/versus-NAME-<pid>; ctest runs every test in a process of its
// own, so without this each run would leave hundreds of them behind. At the end of the process this removes
// the ones this process made (its pid ends the name), and nothing else.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace {

class RemoveScratch : public ::testing::Environment {
public:
    void TearDown() override {
        namespace fs = std::filesystem;
        std::error_code ec;
        const std::string suffix = "-" + std::to_string(::getpid());
        for (const auto& e : fs::directory_iterator(fs::temp_directory_path(ec), ec)) {
            const std::string name = e.path().filename().string();
            if (name.rfind("versus-", 0) == 0 && name.size() > suffix.size() &&
                name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
                fs::remove_all(e.path(), ec);
        }
    }
};

// Registered before main runs; gtest owns and deletes the environment.
[[maybe_unused]] ::testing::Environment* const scratch = ::testing::AddGlobalTestEnvironment(new RemoveScratch);

}  // namespace
