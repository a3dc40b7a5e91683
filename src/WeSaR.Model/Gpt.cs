using TorchSharp;
using TorchSharp.Modules;
using WeSaR.Model.Init;
using static TorchSharp.torch;

namespace WeSaR.Model;

/// <summary>Causal self-attention with one gated matrix each for W_q, W_k, W_v and W_o, and optionally QK-norm.</summary>
public sealed class CausalSelfAttention : nn.Module<Tensor, Tensor>
{
    readonly GatedLinear q_proj, k_proj, v_proj, o_proj;
    readonly RmsNorm? q_norm, k_norm;   // null without QK-norm: no parameters, the plain model bit for bit
    readonly int nHead;
    readonly double dropout;

    public CausalSelfAttention(GptConfig c, int layer, InitScheme s) : base(nameof(CausalSelfAttention))
    {
        MatrixSite Site(MatrixRole r) => new(r, c.DModel, c.NLayer, layer);
        q_proj = new(c.DModel, c.DModel, Site(MatrixRole.Query), s);
        k_proj = new(c.DModel, c.DModel, Site(MatrixRole.Key), s);
        v_proj = new(c.DModel, c.DModel, Site(MatrixRole.Value), s);
        o_proj = new(c.DModel, c.DModel, Site(MatrixRole.AttnOut), s);
        if (c.QkNorm) (q_norm, k_norm) = (new(c.DModel / c.NHead), new(c.DModel / c.NHead));
        nHead = c.NHead;
        dropout = c.Dropout;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var (b, t, d) = (x.shape[0], x.shape[1], x.shape[2]);
        Tensor Heads(GatedLinear proj, RmsNorm? norm = null)
        {
            var h = proj.call(x).view(b, t, nHead, d / nHead);
            return (norm is null ? h : norm.call(h)).transpose(1, 2);
        }
        var y = nn.functional.scaled_dot_product_attention(Heads(q_proj, q_norm), Heads(k_proj, k_norm), Heads(v_proj),
            p: training ? dropout : 0.0, is_casual: true);
        return o_proj.call(y.transpose(1, 2).contiguous().view(b, t, d));
    }
}

/// <summary>GELU feed-forward: W_u (d to 4d), then W_d (4d to d).</summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    readonly GatedLinear up_proj, down_proj;

    public Mlp(GptConfig c, int layer, InitScheme s) : base(nameof(Mlp))
    {
        up_proj = new(c.DModel, c.DHidden, new(MatrixRole.FfnUp, c.DModel, c.NLayer, layer), s);
        down_proj = new(c.DHidden, c.DModel, new(MatrixRole.FfnDown, c.DModel, c.NLayer, layer), s);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => down_proj.call(nn.functional.gelu(up_proj.call(x)));
}

/// <summary>Pre-LN block: x + attn(norm(x)), then x + mlp(norm(x)).</summary>
public sealed class Block : nn.Module<Tensor, Tensor>
{
    readonly RmsNorm ln_1, ln_2;
    readonly CausalSelfAttention attn;
    readonly Mlp mlp;
    readonly Dropout drop;

    public Block(GptConfig c, int layer, InitScheme s) : base(nameof(Block))
    {
        ln_1 = new(c.DModel);
        attn = new(c, layer, s);
        ln_2 = new(c.DModel);
        mlp = new(c, layer, s);
        drop = nn.Dropout(c.Dropout);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = x.add(drop.call(attn.call(ln_1.call(x))), Scalars.One);
        return x.add(drop.call(mlp.call(ln_2.call(x))), Scalars.One);
    }
}

/// <summary>
/// GPT-style decoder: token and learned position embeddings, N pre-LN blocks, final RMSNorm, untied LM head.
/// Construct outside any dispose scope and after torch.manual_seed: the constructor draws the initial weights (or
/// through <see cref="Seeded"/>, which does both under <see cref="DefaultGenerator"/>).
/// </summary>
public sealed class Gpt : nn.Module<Tensor, Tensor>
{
    /// <summary>
    /// Held by whatever draws from LibTorch's default generator, which is process-wide: runs that share a process (sweep
    /// slots) would otherwise draw another run's numbers, or reseed it mid-draw.
    /// </summary>
    public static readonly object DefaultGenerator = new();

    /// <summary>A model whose initial weights are a function of <paramref name="seed"/> alone, whatever else the process draws.</summary>
    public static Gpt Seeded(GptConfig c, InitScheme s, long seed)
    {
        lock (DefaultGenerator)
        {
            manual_seed(seed);
            return new Gpt(c, s);
        }
    }

    readonly GatedEmbedding wte;
    readonly Parameter wpe;
    readonly LayerNorm? ln_e;
    readonly ModuleList<Block> h;
    readonly RmsNorm ln_f;
    readonly GatedLinear lm_head;
    readonly Dropout drop;
    readonly Scalar? embedScale;   // null: embeddings unscaled

    /// <summary>Epsilon of the embedding LayerNorm (embed-ln), LibTorch's default, stated so exports can name it.</summary>
    public const double LayerNormEps = 1e-5;

    public GptConfig Config { get; }

    public InitScheme Scheme { get; }

    public Gpt(GptConfig c, InitScheme s) : base(nameof(Gpt))
    {
        Config = c;
        Scheme = s;
        if (c.DModel % c.NHead != 0) throw new ArgumentException($"d-model {c.DModel} is not divisible by n-head {c.NHead}");
        wte = new(c.VocabSize, c.DModel, new(MatrixRole.Embedding, c.DModel, c.NLayer, -1), s);
        wpe = new Parameter(empty(c.BlockSize, c.DModel));
        using (no_grad()) nn.init.normal_(wpe, 0.0, s.TargetStd(new(MatrixRole.Position, c.DModel, c.NLayer, -1)));
        // Takase et al.: multiply embeddings by sqrt(d) so their scale matches the residual stream's.
        embedScale = s.ScaledEmbed ? (Scalar)Math.Sqrt(c.DModel) : null;
        ln_e = s.EmbedNorm ? nn.LayerNorm(c.DModel, LayerNormEps) : null;
        h = new ModuleList<Block>(Enumerable.Range(0, c.NLayer).Select(i => new Block(c, i, s)).ToArray());
        ln_f = new(c.DModel);
        lm_head = new(c.DModel, c.VocabSize, new(MatrixRole.Head, c.DModel, c.NLayer, -1), s);
        drop = nn.Dropout(c.Dropout);
        RegisterComponents();
    }

    /// <summary>idx (B, T) of token ids → logits (B, T, vocab).</summary>
    public override Tensor forward(Tensor idx)
    {
        var x = drop.call(Embed(idx));
        foreach (var block in h) x = block.call(x);
        return lm_head.call(ln_f.call(x));
    }

    /// <summary>What the first block sees (before dropout): token embeddings, scaled or normalised as the scheme says, plus positions.</summary>
    public Tensor Embed(Tensor idx)
    {
        var t = idx.shape[1];
        if (t > Config.BlockSize) throw new ArgumentException($"sequence of {t} tokens exceeds block size {Config.BlockSize}");
        var x = wte.call(idx);
        if (embedScale is not null) x = x.mul(embedScale);
        x = x.add(wpe.narrow(0, 0, t), Scalars.One);
        return ln_e is not null ? ln_e.call(x) : x;
    }

    /// <summary>Every gated matrix by its state-dict prefix (e.g. "h.3.mlp.down_proj"), in parameter order.</summary>
    public IReadOnlyList<(string Name, GatedMatrix Matrix)> Matrices() =>
        named_modules().Where(m => m.module is GatedMatrix).Select(m => (m.name, (GatedMatrix)m.module)).ToList();

    /// <summary>The learned position table (std in <see cref="Backbone"/>; never gated).</summary>
    public Parameter PositionEmbedding => wpe;
}
