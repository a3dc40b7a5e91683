"""A WeSaR GPT in PyTorch: loads what `wesar export` writes (model.safetensors + config.json).

The module mirrors src/WeSaR.Model/Gpt.cs, nanoGPT-style: token and learned position embeddings (optionally scaled
by sqrt(d) and layer-normed, per config), pre-norm blocks with RMSNorm, causal attention (optionally with QK-norm on
every head), a GELU MLP of width 4d, a final RMSNorm and an untied LM head, all without biases. Exports with
`--gates keep` hold W and its scalar gate alpha apart; each matrix then computes (alpha * W) x, as training does.
Dropout is left out: this is for inference. Needs PyTorch >= 1.13; the `safetensors` package is used if present.

    import wesar_gpt
    model = wesar_gpt.load("wesar-work/exports/<run>/step-400")
    logits = model(torch.tensor([[72, 105]]))              # (batch, time, vocab)
    ids = model.generate(torch.tensor([[10]]), 200, temperature=0.8, top_k=200)
"""
import json, math, os, struct, sys
import torch
import torch.nn as nn
import torch.nn.functional as F


class RmsNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(dim)), eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class GatedLinear(nn.Module):
    """y = (alpha * W) x when the export kept gates, else y = W x (alpha already folded into W)."""
    def __init__(self, n_in, n_out, gated):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_out, n_in))
        self.gate = nn.Parameter(torch.ones(())) if gated else None

    def forward(self, x):
        return F.linear(x, self.weight if self.gate is None else self.weight * self.gate)


class Attention(nn.Module):
    def __init__(self, c, gated):
        super().__init__()
        d, self.n_head = c["d_model"], c["n_head"]
        self.q_proj, self.k_proj, self.v_proj, self.o_proj = (GatedLinear(d, d, gated) for _ in range(4))
        if c["qk_norm"]:
            self.q_norm, self.k_norm = (RmsNorm(d // self.n_head, c["rms_norm_eps"]) for _ in range(2))

    def forward(self, x):
        b, t, d = x.shape
        def heads(proj, norm=None):
            h = proj(x).view(b, t, self.n_head, d // self.n_head)
            return (h if norm is None else norm(h)).transpose(1, 2)
        norms = (self.q_norm, self.k_norm) if hasattr(self, "q_norm") else (None, None)
        q, k, v = heads(self.q_proj, norms[0]), heads(self.k_proj, norms[1]), heads(self.v_proj)
        if hasattr(F, "scaled_dot_product_attention"):  # PyTorch 2
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))
            att = att.masked_fill(torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1), float("-inf"))
            y = att.softmax(-1) @ v
        return self.o_proj(y.transpose(1, 2).contiguous().view(b, t, d))


class Block(nn.Module):
    def __init__(self, c, gated):
        super().__init__()
        d, eps = c["d_model"], c["rms_norm_eps"]
        self.ln_1, self.attn, self.ln_2 = RmsNorm(d, eps), Attention(c, gated), RmsNorm(d, eps)
        self.mlp = nn.Module()
        self.mlp.up_proj, self.mlp.down_proj = GatedLinear(d, c["d_hidden"], gated), GatedLinear(c["d_hidden"], d, gated)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp.down_proj(F.gelu(self.mlp.up_proj(self.ln_2(x))))


class WeSaRGPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config, gated, d = c, c["gated"] and not c["gates_folded"], c["d_model"]
        self.wte = GatedLinear(d, c["vocab_size"], gated)  # a (vocab, d) table, looked up by row
        self.wpe = nn.Parameter(torch.empty(c["block_size"], d))
        self.ln_e = nn.LayerNorm(d, eps=c["layer_norm_eps"]) if c["embed_norm"] else None
        self.h = nn.ModuleList(Block(c, gated) for _ in range(c["n_layer"]))
        self.ln_f, self.lm_head = RmsNorm(d, c["rms_norm_eps"]), GatedLinear(d, c["vocab_size"], gated)

    def forward(self, idx):
        """idx (batch, time) of token ids, time <= block_size -> logits (batch, time, vocab)."""
        x = F.embedding(idx, self.wte.weight)
        if self.wte.gate is not None: x = x * self.wte.gate
        if self.config["scaled_embed"]: x = x * math.sqrt(self.config["d_model"])
        x = x + self.wpe[: idx.size(1)]
        if self.ln_e is not None: x = self.ln_e(x)
        for block in self.h: x = block(x)
        return self.lm_head(self.ln_f(x))

    @torch.no_grad()
    def generate(self, idx, new_tokens, temperature=0.8, top_k=200):
        """nanoGPT's sampling, as `wesar sample` does it (temperature 0: greedy); returns idx with the new tokens."""
        for _ in range(new_tokens):
            logits = self(idx[:, -self.config["block_size"]:])[:, -1, :]
            if temperature == 0:
                nxt = logits.argmax(-1, keepdim=True)
            else:
                logits = logits / temperature
                if top_k: logits[logits < torch.topk(logits, min(top_k, logits.size(-1))).values[:, [-1]]] = float("-inf")
                nxt = torch.multinomial(logits.softmax(-1), 1)
            idx = torch.cat((idx, nxt), dim=1)
        return idx


def read_safetensors(path):
    """name -> tensor; the `safetensors` package if installed, else this reader of the format (which is tiny)."""
    try:
        from safetensors.torch import load_file
        return load_file(path)
    except ImportError:
        data = open(path, "rb").read()
        n = struct.unpack("<Q", data[:8])[0]
        header, body = json.loads(data[8 : 8 + n]), memoryview(data)[8 + n :]
        dtypes = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}
        return {name: torch.frombuffer(bytearray(body[t["data_offsets"][0] : t["data_offsets"][1]]), dtype=dtypes[t["dtype"]]).reshape(t["shape"])
                for name, t in header.items() if name != "__metadata__"}


def load(folder, device="cpu"):
    """The exported model in eval mode; every tensor of the file must fit (strict loading)."""
    with open(os.path.join(folder, "config.json")) as f:
        model = WeSaRGPT(json.load(f))
    model.load_state_dict(read_safetensors(os.path.join(folder, "model.safetensors")))
    return model.to(device).eval()



# The .NET Trainer's step in PyTorch (src/WeSaR.Training/Loop/Trainer.cs), for the parity check and `wesar bench torch`.

def trainable(model, frozen_gates):
    """(name, parameter) pairs the Trainer trains: all but the gates of a wesar-frozen scheme."""
    for name, p in model.named_parameters():
        p.requires_grad_(not (name.endswith(".gate") and frozen_gates))
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad]


def adamw(params, lr, beta1, beta2, eps, weight_decay):
    """AdamW in the Trainer's two groups: matrices (2-D) decay; gates, gains and anything else below 2-D do not."""
    return torch.optim.AdamW([
        {"params": [p for _, p in params if p.dim() >= 2], "weight_decay": weight_decay},
        {"params": [p for _, p in params if p.dim() < 2], "weight_decay": 0.0},
    ], lr=lr, betas=(beta1, beta2), eps=eps)


def gradients(model, opt, params, x, y, grad_clip):
    """A step up to the update: forward, cross-entropy, backward and clipping (grad_clip <= 0: none); returns (loss,
    gradient norm). opt.step() then updates, as the Trainer does next."""
    opt.zero_grad(set_to_none=True)
    logits = model(x)
    loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
    loss.backward()
    return loss, torch.nn.utils.clip_grad_norm_([p for _, p in params], grad_clip if grad_clip > 0 else float("inf"))

if __name__ == "__main__":  # python wesar_gpt.py <export folder> [prompt]: 200 sampled tokens (byte tokenizer)
    model = load(sys.argv[1])
    assert model.config["tokenizer"] == "byte", "gpt2 exports: encode and decode with tiktoken.get_encoding('gpt2')"
    prompt = list((sys.argv[2] if len(sys.argv) > 2 else "\n").encode())
    print(bytes(model.generate(torch.tensor([prompt]), 200)[0].tolist()).decode("utf-8", errors="replace"))
