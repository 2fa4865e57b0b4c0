#include "train/device-config.hpp"

#include <string>

namespace versus::train {

void device_gpt_config(const GptConfig& c, const GptOptions& o, DeviceGptConfig* out) {
    const ParamLayout layout = param_layout(c);
    auto offset = [&](const std::string& name) -> int64_t {
        for (const ParamTensor& t : layout.tensors)
            if (t.name == name) return t.offset;
        return -1;
    };
    // The order of versus_train_gpt_config::offsets.
    out->offsets = {offset("wte"), offset("wpe"), offset("lnf.w"), offset("lnf.b"), offset("head.w")};
    for (int l = 0; l < c.n_layer; ++l)
        for (const char* k : {"ln1.w", "ln1.b", "qkv.w", "qkv.b", "proj.w", "proj.b", "ln2.w", "ln2.b", "fc.w", "fc.b",
                              "fcproj.w", "fcproj.b"})
            out->offsets.push_back(offset("h" + std::to_string(l) + "." + k));
    versus_train_gpt_config& a = out->abi;
    a = {};
    a.n_layer = c.n_layer, a.n_embd = c.n_embd, a.n_head = c.n_head, a.n_ff = c.n_ff, a.vocab = c.vocab;
    a.max_seq = c.max_seq;
    a.norm = c.norm == Norm::RMS;
    a.mlp = c.mlp == Mlp::SWIGLU;
    a.position = c.position == Position::ROPE;
    a.tied = c.tied, a.bias = c.bias;
    a.batch = o.batch, a.seq = o.seq;
    a.precision = o.precision == Precision::BF16;
    a.attention = o.attention == AttentionImpl::NAIVE;
    a.norm_eps = c.norm_eps, a.rope_base = c.rope_base;
    a.lr = float(o.adamw.lr), a.beta1 = float(o.adamw.beta1), a.beta2 = float(o.adamw.beta2);
    a.adam_eps = float(o.adamw.eps), a.weight_decay = float(o.adamw.weight_decay), a.clip = float(o.adamw.clip);
    a.n_params = uint64_t(layout.total), a.n_decayed = uint64_t(layout.decayed);
    a.offsets = out->offsets.data();
}

versus_train_resnet_config device_resnet_config(const ResnetConfig& c, int batch, uint64_t seed, const SgdConfig& sgd) {
    versus_train_resnet_config r{};
    r.batch = batch, r.image = c.image, r.classes = c.classes, r.width = c.width;
    r.small_stem = c.small_stem;
    r.precision = 0;
    r.lr = float(sgd.lr), r.momentum = float(sgd.momentum), r.weight_decay = float(sgd.weight_decay);
    r.seed = seed;
    return r;
}

}  // namespace versus::train
