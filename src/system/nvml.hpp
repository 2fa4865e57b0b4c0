// nvml: the few NVML entry points versus uses, loaded with dlopen("libnvidia-ml.so.1") because there is
// no NVML header or library on build machines and the binary must start without a driver. Header-only
// and free of the project's other libraries, so that both the power meters (power.cpp, gpu-meter.cpp)
// and the CUDA plugin (compiled by nvcc, linked alone) use the one declaration. nvmlReturn_t is an int
// enum with 0 = NVML_SUCCESS; nvmlDevice_t an opaque pointer.
#pragma once

#include <dlfcn.h>

#include <memory>
#include <string>
#include <type_traits>

namespace versus::system {

struct NvmlLib {
    using Ret = int;
    using Device = void*;
    static constexpr int CLOCK_SM = 1;         // nvmlClockType_t NVML_CLOCK_SM
    static constexpr int TEMPERATURE_GPU = 0;  // nvmlTemperatureSensors_t NVML_TEMPERATURE_GPU

    struct Closer {
        void operator()(void* h) const { ::dlclose(h); }
    };
    std::unique_ptr<void, Closer> handle;
    Ret (*init_v2)() = nullptr;
    Ret (*shutdown)() = nullptr;
    Ret (*device_get_count_v2)(unsigned*) = nullptr;
    const char* (*error_string)(Ret) = nullptr;
    Ret (*system_get_driver_version)(char*, unsigned) = nullptr;
    // Optional entries: nullptr where the driver predates them.
    Ret (*device_get_handle_by_index_v2)(unsigned, Device*) = nullptr;
    Ret (*device_get_handle_by_pci_bus_id_v2)(const char*, Device*) = nullptr;
    Ret (*device_get_power_usage)(Device, unsigned*) = nullptr;                     // mW
    Ret (*device_get_total_energy_consumption)(Device, unsigned long long*) = nullptr;  // mJ since driver load
    Ret (*device_get_clock_info)(Device, int, unsigned*) = nullptr;                 // MHz
    Ret (*device_get_temperature)(Device, int, unsigned*) = nullptr;                // degrees C
    Ret (*device_get_clocks_event_reasons)(Device, unsigned long long*) = nullptr;  // "throttle reasons"
    Ret (*device_get_max_pcie_link_generation)(Device, unsigned*) = nullptr;
    Ret (*device_get_max_pcie_link_width)(Device, unsigned*) = nullptr;
    Ret (*device_get_enforced_power_limit)(Device, unsigned*) = nullptr;            // mW

    std::string error(Ret r) const {
        return std::string(error_string ? error_string(r) : "error") + " (" + std::to_string(r) + ")";
    }

    // nullptr with *why when the library or a required symbol is missing.
    static std::unique_ptr<NvmlLib> load(std::string* why) {
        auto lib = std::make_unique<NvmlLib>();
        ::dlerror();
        lib->handle.reset(::dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL));
        if (!lib->handle) {
            // "not found" is the common case; any other dlopen error (wrong arch, missing deps) is kept
            const char* e = ::dlerror();
            const std::string err = e ? e : "";
            *why = err.empty() || err.find("No such file") != std::string::npos
                       ? "libnvidia-ml.so.1 not found (no NVIDIA driver here, or a container started without the "
                         "NVIDIA runtime)"
                       : "libnvidia-ml.so.1 did not load: " + err;
            return nullptr;
        }
        auto sym = [&](auto& fn, const char* name) {
            fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(lib->handle.get(), name));
            return fn != nullptr;
        };
        sym(lib->error_string, "nvmlErrorString");
        sym(lib->system_get_driver_version, "nvmlSystemGetDriverVersion");
        sym(lib->device_get_handle_by_index_v2, "nvmlDeviceGetHandleByIndex_v2");
        sym(lib->device_get_handle_by_pci_bus_id_v2, "nvmlDeviceGetHandleByPciBusId_v2");
        sym(lib->device_get_power_usage, "nvmlDeviceGetPowerUsage");
        sym(lib->device_get_total_energy_consumption, "nvmlDeviceGetTotalEnergyConsumption");
        sym(lib->device_get_clock_info, "nvmlDeviceGetClockInfo");
        sym(lib->device_get_temperature, "nvmlDeviceGetTemperature");
        // Renamed in driver 535; the old name stays exported for older drivers.
        if (!sym(lib->device_get_clocks_event_reasons, "nvmlDeviceGetCurrentClocksEventReasons"))
            sym(lib->device_get_clocks_event_reasons, "nvmlDeviceGetCurrentClocksThrottleReasons");
        sym(lib->device_get_max_pcie_link_generation, "nvmlDeviceGetMaxPcieLinkGeneration");
        sym(lib->device_get_max_pcie_link_width, "nvmlDeviceGetMaxPcieLinkWidth");
        sym(lib->device_get_enforced_power_limit, "nvmlDeviceGetEnforcedPowerLimit");
        if (!sym(lib->init_v2, "nvmlInit_v2") || !sym(lib->shutdown, "nvmlShutdown") ||
            !sym(lib->device_get_count_v2, "nvmlDeviceGetCount_v2")) {
            *why = "libnvidia-ml.so.1 lacks nvmlInit_v2/nvmlDeviceGetCount_v2 (driver too old)";
            return nullptr;
        }
        return lib;
    }
};

// An initialised NVML (nvmlInit_v2 .. nvmlShutdown, reference-counted by NVML itself).
class NvmlSession {
public:
    // lib() is nullptr with *why when NVML cannot be loaded or initialised.
    explicit NvmlSession(std::string* why) {
        lib_ = NvmlLib::load(why);
        if (!lib_) return;
        if (const NvmlLib::Ret r = lib_->init_v2(); r != 0) {
            *why = "nvmlInit_v2 failed: " + lib_->error(r);
            lib_.reset();
        }
    }
    ~NvmlSession() {
        if (lib_) lib_->shutdown();
    }
    NvmlSession(const NvmlSession&) = delete;
    NvmlSession& operator=(const NvmlSession&) = delete;
    const NvmlLib* lib() const { return lib_.get(); }

    // The device with this PCI bus id (or, when it is empty, this NVML index); nullptr with *why.
    NvmlLib::Device device(const std::string& pci_bus_id, unsigned index, std::string* why) const {
        NvmlLib::Device d = nullptr;
        NvmlLib::Ret r = 0;
        if (!pci_bus_id.empty() && lib_->device_get_handle_by_pci_bus_id_v2)
            r = lib_->device_get_handle_by_pci_bus_id_v2(pci_bus_id.c_str(), &d);
        else if (lib_->device_get_handle_by_index_v2)
            r = lib_->device_get_handle_by_index_v2(index, &d);
        else {
            *why = "libnvidia-ml.so.1 lacks nvmlDeviceGetHandleByIndex_v2 (driver too old)";
            return nullptr;
        }
        if (r != 0) {
            *why = "no NVML device " + (pci_bus_id.empty() ? std::to_string(index) : pci_bus_id) + ": " + lib_->error(r);
            return nullptr;
        }
        return d;
    }

private:
    std::unique_ptr<NvmlLib> lib_;
};

}  // namespace versus::system
