// loader: libversus-cuda.so, the file versus dlopens. It only checks that an NVIDIA driver is there
// (libcuda.so.1 loads) and then loads the plugin proper, libversus-cuda-impl.so from the same
// directory, and hands over to its init. cuBLASLt alone takes a quarter of a second to load, which
// every `versus` start on a machine without a GPU would otherwise pay for nothing.
#include <dlfcn.h>

#include <cstdio>
#include <string>

#include "backend/backend-abi.h"

namespace {

std::string own_directory() {
    Dl_info info{};
    if (!::dladdr(reinterpret_cast<void*>(&own_directory), &info) || !info.dli_fname) return ".";
    const std::string path = info.dli_fname;
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? "." : path.substr(0, slash);
}

int refuse(char* err, size_t err_len, const std::string& why) {
    std::snprintf(err, err_len, "%s", why.c_str());
    return 1;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int versus_backend_init(uint32_t abi_version, versus_backend_i* out,
                                                                          char* err, size_t err_len) {
    void* driver = ::dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
    if (!driver)
        return refuse(err, err_len,
                      "no NVIDIA driver: libcuda.so.1 not found (a container needs the NVIDIA runtime, e.g. docker "
                      "--gpus all)");
    ::dlclose(driver);
    const std::string impl = own_directory() + "/libversus-cuda-impl.so";
    // Kept loaded for the life of the process: the table's functions live in it.
    void* h = ::dlopen(impl.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char* e = ::dlerror();
        return refuse(err, err_len, "cannot load " + impl + ": " + (e ? e : "unknown error"));
    }
    auto init = reinterpret_cast<versus_backend_init_fn>(::dlsym(h, "versus_cuda_impl_init"));
    if (!init) {
        ::dlclose(h);
        return refuse(err, err_len, impl + " has no versus_cuda_impl_init");
    }
    return init(abi_version, out, err, err_len);
}
